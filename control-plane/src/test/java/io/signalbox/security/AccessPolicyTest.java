package io.signalbox.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class AccessPolicyTest {

  private static final Identity ORDERS = new Identity("spiffe://signalbox.local/service/orders");
  private static final Identity EDGE_ENVOY = new Identity("spiffe://signalbox.local/envoy/edge");
  private static final Identity ALICE = new Identity("spiffe://signalbox.local/operator/alice");

  @Test
  void withoutRulesAServiceIdentityMayRegisterOnlyTheServiceItNames() {
    AccessPolicy policy = AccessPolicy.DEFAULT;

    assertThat(policy.mayRegister(ORDERS, "orders")).isTrue();
    assertThat(policy.mayRegister(ORDERS, "users")).isFalse();
    assertThat(policy.mayRegister(new Identity("spiffe://other.domain/service/orders"), "orders"))
        .isFalse();
    assertThat(policy.mayRegister(new Identity("orders"), "orders")).isFalse();
  }

  @Test
  void withoutRulesAnEnvoyIdentityMayFetchOnlyTheGroupItNamesAndNobodyIsAnAdmin() {
    AccessPolicy policy = AccessPolicy.DEFAULT;

    assertThat(policy.mayFetch(EDGE_ENVOY, "edge")).isTrue();
    assertThat(policy.mayFetch(EDGE_ENVOY, "internal")).isFalse();
    assertThat(policy.mayFetch(ORDERS, "edge")).isFalse();
    assertThat(policy.role(ALICE)).isEmpty();
  }

  @Test
  void rulesAddToTheConventionAndAWildcardCoversEveryIdentityBelowAPath() {
    AccessPolicy policy =
        new AccessPolicy(
            "corp",
            List.of(
                new AccessPolicy.RegistrantRule(
                    new IdentityPattern("spiffe://corp/ns/payments/*"), Set.of("payments"))),
            new TreeMap<>(),
            List.of(
                new AccessPolicy.EnvoyRule(
                    new IdentityPattern("spiffe://corp/envoy/edge"), Set.of("edge-2"))),
            List.of(
                new AccessPolicy.OperatorRule(
                    new IdentityPattern("spiffe://corp/operator/*"), AdminRole.VIEWER),
                new AccessPolicy.OperatorRule(
                    new IdentityPattern("spiffe://corp/operator/alice"), AdminRole.OPERATOR)));

    assertThat(policy.mayRegister(new Identity("spiffe://corp/ns/payments/api"), "payments"))
        .isTrue();
    assertThat(policy.mayRegister(new Identity("spiffe://corp/ns/payments"), "payments")).isFalse();
    assertThat(policy.mayRegister(new Identity("spiffe://corp/ns/payments-evil/api"), "payments"))
        .isFalse();
    assertThat(policy.mayRegister(new Identity("spiffe://corp/service/payments"), "payments"))
        .isTrue();
    assertThat(policy.mayFetch(new Identity("spiffe://corp/envoy/edge"), "edge-2")).isTrue();
    assertThat(policy.mayFetch(new Identity("spiffe://corp/envoy/edge"), "edge")).isTrue();
    assertThat(policy.role(new Identity("spiffe://corp/operator/bob"))).contains(AdminRole.VIEWER);
    assertThat(policy.role(new Identity("spiffe://corp/operator/alice")))
        .contains(AdminRole.OPERATOR);
  }

  @Test
  void aStarAnywhereButAsTheLastSegmentIsRefused() {
    assertThatThrownBy(() -> new IdentityPattern("spiffe://corp/*/api"))
        .hasMessageContaining("last path segment");
    assertThatThrownBy(() -> new IdentityPattern("spiffe://corp/ns*"))
        .hasMessageContaining("last path segment");
    assertThatThrownBy(() -> new IdentityPattern("*")).hasMessageContaining("last path segment");
  }

  @Test
  void aPlaintextControlPlaneChecksNoIdentityButAnEnforcingOneRefusesACallWithoutOne() {
    AccessControl plaintext = AccessControl.plaintext(() -> AccessPolicy.DEFAULT);
    AccessControl enforcing = AccessControl.enforcing(() -> AccessPolicy.DEFAULT);

    assertThat(plaintext.registrationRefusal(Identity.PLAINTEXT, "users")).isEmpty();
    assertThat(plaintext.hasRole(Identity.PLAINTEXT, AdminRole.OPERATOR)).isTrue();
    assertThat(enforcing.registrationRefusal(Identity.NONE, "users")).isPresent();
    assertThat(enforcing.registrationRefusal(ORDERS, "users"))
        .contains(
            "identity 'spiffe://signalbox.local/service/orders' may not register service 'users'");
    assertThat(enforcing.hasRole(Identity.NONE, AdminRole.VIEWER)).isFalse();
    assertThat(enforcing.mayFetch(Identity.NONE, "edge")).isFalse();
  }

  @Test
  void onlyAPlaintextCallerRegistersAsNobodyInParticular() {
    assertThat(Identity.PLAINTEXT.registrant()).isEmpty();
    assertThat(Identity.NONE.registrant()).isEqualTo("unauthenticated");
    assertThat(ORDERS.registrant()).isEqualTo(ORDERS.value());
  }

  @Test
  void aCallerMustBeAllowedByTheOperatorAndByTheServiceWhenBothNameCallers() {
    AccessPolicy policy =
        new AccessPolicy(
            AccessPolicy.DEFAULT_TRUST_DOMAIN,
            List.of(),
            new TreeMap<>(),
            List.of(),
            List.of(),
            new TreeMap<>(
                java.util.Map.of(
                    "users", List.of("orders", "spiffe://signalbox.local/envoy/edge"),
                    "audit", List.of())));

    assertThat(policy.allowedCallers("users", List.of("orders", "shop")))
        .as("both name callers: those both allow")
        .contains(new java.util.TreeSet<>(List.of("spiffe://signalbox.local/service/orders")));
    assertThat(policy.allowedCallers("users", List.of()))
        .as("the service names none: the operator's")
        .contains(
            new java.util.TreeSet<>(
                List.of(
                    "spiffe://signalbox.local/envoy/edge",
                    "spiffe://signalbox.local/service/orders")));
    assertThat(policy.allowedCallers("orders", List.of("shop")))
        .as("the operator names none: the service's")
        .contains(new java.util.TreeSet<>(List.of("spiffe://signalbox.local/service/shop")));
    assertThat(policy.allowedCallers("orders", List.of()))
        .as("neither names any: every workload of the mesh")
        .isEmpty();
    assertThat(policy.allowedCallers("audit", List.of("orders")))
        .as("the operator allows nobody: nobody")
        .contains(new java.util.TreeSet<>());
  }
}
