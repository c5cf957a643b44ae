package io.signalbox.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.signalbox.security.AccessPolicy;
import io.signalbox.security.AdminRole;
import io.signalbox.security.Identity;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class AccessSettingsTest {

  private static AccessPolicy access(String yaml) {
    return GatewaySettingsLoader.parse(yaml, Path.of(".")).access();
  }

  @Test
  void settingsWithoutAnAccessSectionKeepTheConventionOnly() {
    assertThat(access("listeners: [{name: http, port: 10000}]")).isEqualTo(AccessPolicy.DEFAULT);
  }

  @Test
  void theAccessSectionNamesRegistrantsGrantsEnvoysAndOperators() {
    AccessPolicy policy =
        access(
            """
        access:
          trustDomain: corp.example.com
          registrants:
            - {identity: "spiffe://corp.example.com/ns/payments/*", services: [payments, refunds]}
          services:
            - {service: users, hosts: [api.example.com], pathPrefixes: [/users]}
          envoys:
            - {identity: "spiffe://corp.example.com/envoy/edge", groups: [edge, edge-canary]}
          operators:
            - {identity: "spiffe://corp.example.com/operator/alice", role: operator}
            - {identity: "spiffe://corp.example.com/operator/*", role: viewer}
        """);

    assertThat(policy.trustDomain()).isEqualTo("corp.example.com");
    assertThat(
            policy.mayRegister(
                new Identity("spiffe://corp.example.com/ns/payments/api"), "refunds"))
        .isTrue();
    assertThat(policy.grant("users"))
        .get()
        .satisfies(
            grant -> {
              assertThat(grant.hosts()).containsExactly("api.example.com");
              assertThat(grant.pathPrefixes()).containsExactly("/users");
            });
    assertThat(policy.mayFetch(new Identity("spiffe://corp.example.com/envoy/edge"), "edge-canary"))
        .isTrue();
    assertThat(policy.role(new Identity("spiffe://corp.example.com/operator/alice")))
        .contains(AdminRole.OPERATOR);
    assertThat(policy.role(new Identity("spiffe://corp.example.com/operator/bob")))
        .contains(AdminRole.VIEWER);
  }

  @Test
  void aGrantWithoutHostsOrPathsAllowsAnyHostlessRouteUnderRoot() {
    AccessPolicy.ServiceGrant grant =
        access("access: {services: [{service: users}]}").grant("users").orElseThrow();

    assertThat(grant.hosts()).isEqualTo(List.of("*"));
    assertThat(grant.pathPrefixes()).isEqualTo(List.of("/"));
  }

  @Test
  void everyMistakeIsNamedByItsField() {
    assertThatThrownBy(
            () -> access("access: {operators: [{identity: spiffe://x/op/a, role: root}]}"))
        .hasMessage("access.operators[0].role: 'root' is not a role (viewer or operator)");
    assertThatThrownBy(
            () -> access("access: {registrants: [{identity: spiffe://x/a, services: [Users]}]}"))
        .hasMessage("access.registrants[0].services[0]: 'Users' is not a service name");
    assertThatThrownBy(
            () ->
                access("access: {registrants: [{identity: 'spiffe://x/*/a', services: [users]}]}"))
        .hasMessageStartingWith("access.registrants[0].identity: ");
    assertThatThrownBy(
            () -> access("access: {services: [{service: users, pathPrefixes: [users]}]}"))
        .hasMessageStartingWith("access.services[0].pathPrefixes[0]: 'users' is not a path prefix");
    assertThatThrownBy(() -> access("access: {services: [{service: users}, {service: users}]}"))
        .hasMessage("access.services[1].service: 'users' has a grant already");
    assertThatThrownBy(() -> access("access: {envoys: [{identity: spiffe://x/e, groups: []}]}"))
        .hasMessage("access.envoys[0].groups: name at least one node group (or \"*\")");
    assertThatThrownBy(() -> access("access: {trustDomain: 'Not A Domain'}"))
        .hasMessageStartingWith("access.trustDomain: ");
    assertThatThrownBy(() -> access("access: {operator: []}"))
        .hasMessageContaining("access.operator");
    assertThatThrownBy(
            () -> access("access: {callers: [{service: users, allowed: [orders, 'not a name']}]}"))
        .hasMessage(
            "access.callers[0].allowed[1]: 'not a name' is not a service name or a SPIFFE ID"
                + " (spiffe://DOMAIN/PATH)");
    assertThatThrownBy(
            () ->
                access(
                    "access: {callers: [{service: users, allowed: [orders]},"
                        + " {service: users, allowed: [shop]}]}"))
        .hasMessage("access.callers[1].service: 'users' has a rule already");
    assertThatThrownBy(
            () -> access("access: {callers: [{service: users, allowed: [orders, orders]}]}"))
        .hasMessage("access.callers[0].allowed[1]: 'orders' is listed twice");
    assertThatThrownBy(() -> access("access: {callers: [{service: 9users, allowed: [orders]}]}"))
        .as("no service registers under a name that begins with a digit")
        .hasMessage("access.callers[0].service: '9users' is not a service name");
    assertThatThrownBy(() -> access("access: {callers: [{service: users, allowed: [9orders]}]}"))
        .hasMessageStartingWith("access.callers[0].allowed[0]: '9orders' is not a service name");
    assertThatThrownBy(() -> access("access: {callers: [{service: users}]}"))
        .hasMessageStartingWith("access.callers[0].allowed: is required");
  }

  @Test
  void theOperatorSaysWhoMayCallAServiceThroughItsSidecars() {
    AccessPolicy policy =
        access(
            "access: {callers: [{service: users, allowed: [orders,"
                + " 'spiffe://signalbox.local/envoy/edge']}, {service: audit, allowed: []}]}");

    assertThat(policy.callers())
        .containsEntry("users", List.of("orders", "spiffe://signalbox.local/envoy/edge"))
        .containsEntry("audit", List.of());
  }
}
