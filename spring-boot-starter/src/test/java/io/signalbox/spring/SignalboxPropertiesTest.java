package io.signalbox.spring;

import static org.assertj.core.api.Assertions.assertThat;

import io.signalbox.registry.v1.AuthPolicy;
import io.signalbox.registry.v1.ClaimRequirement;
import io.signalbox.registry.v1.ClaimToHeader;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.RateLimitPolicy;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.Route;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Configuration;

/** How {@code signalbox.*} binds, what it defaults to, and which mistakes stop startup. */
class SignalboxPropertiesTest {

  @Configuration(proxyBeanMethods = false)
  @EnableConfigurationProperties(SignalboxProperties.class)
  static class BindOnly {}

  private final ApplicationContextRunner runner =
      new ApplicationContextRunner().withUserConfiguration(BindOnly.class);

  @Test
  void aTargetAndPlaintextAreAllItNeedsAndTheRestHasDefaults() {
    runner
        .withPropertyValues("signalbox.target=cp:18000", "signalbox.plaintext=true")
        .run(
            context -> {
              SignalboxProperties properties = context.getBean(SignalboxProperties.class);
              assertThat(properties.enabled()).isTrue();
              assertThat(properties.failFast()).isFalse();
              assertThat(properties.deriveRoutesFromHandlers()).isFalse();
              assertThat(properties.routes()).isEmpty();
              assertThat(properties.metadata()).isEmpty();
              assertThat(properties.registrationTimeout()).isEqualTo(Duration.ofSeconds(30));
              assertThat(properties.drainDelay()).isEqualTo(Duration.ofSeconds(1));
              assertThat(properties.health().enabled()).isTrue();
              assertThat(properties.health().interval()).isEqualTo(Duration.ofSeconds(5));
              assertThat(properties.leaseTtl()).isNull();
              assertThat(properties.advertisedPort()).isNull();
            });
  }

  @Test
  void everyKeyMapsOntoTheRegistrationTheSdkSends() {
    runner
        .withPropertyValues(
            "signalbox.target=cp:18000",
            "signalbox.tls.certificate=/pki/orders.pem",
            "signalbox.tls.private-key=/pki/orders-key.pem",
            "signalbox.tls.ca=/pki/ca.pem",
            "signalbox.instance-id=orders-a",
            "signalbox.lease-ttl=5s",
            "signalbox.zone=zone-a",
            "signalbox.weight=3",
            "signalbox.metadata.version=1.4.2",
            "signalbox.metadata.team=payments",
            "signalbox.auth.provider=corp",
            "signalbox.auth.required-scopes=orders:read",
            "signalbox.auth.required-claims.[org.tier]=gold,silver",
            "signalbox.auth.forward-claims.sub=x-user-id",
            "signalbox.rate-limit.requests=100",
            "signalbox.rate-limit.unit=second",
            "signalbox.rate-limit.global=true",
            "signalbox.rate-limit.per-client-ip=true",
            "signalbox.rate-limit.failure-mode=deny",
            "signalbox.routes[0].prefix=/orders",
            "signalbox.routes[0].methods=GET,POST",
            "signalbox.routes[0].hosts=api.example.com",
            "signalbox.routes[0].prefix-rewrite=/",
            "signalbox.routes[0].timeout=3s",
            "signalbox.routes[1].exact=/orders/health",
            "signalbox.routes[1].public-route=true",
            "signalbox.routes[2].regex=/orders/[0-9]+/items",
            "signalbox.routes[2].rate-limit.requests=10",
            "signalbox.routes[2].rate-limit.unit=minute")
        .run(
            context -> {
              SignalboxProperties properties = context.getBean(SignalboxProperties.class);
              assertThat(properties.tls().isComplete()).isTrue();
              RegisterRequest request =
                  Registrations.of(
                          properties,
                          "orders",
                          "10.0.0.7",
                          8080,
                          properties.routes().stream()
                              .map(SignalboxProperties.Route::toSpec)
                              .toList())
                      .toRequest();

              assertThat(request.getService()).isEqualTo("orders");
              assertThat(request.getInstance().getId()).isEqualTo("orders-a");
              assertThat(request.getInstance().getHost()).isEqualTo("10.0.0.7");
              assertThat(request.getInstance().getPort()).isEqualTo(8080);
              assertThat(request.getInstance().getZone()).isEqualTo("zone-a");
              assertThat(request.getInstance().getWeight()).isEqualTo(3);
              assertThat(request.getInstance().getMetadataMap())
                  .containsExactlyInAnyOrderEntriesOf(
                      Map.of("version", "1.4.2", "team", "payments"));
              assertThat(request.getLeaseTtl().getSeconds()).isEqualTo(5);
              assertThat(request.getAuth())
                  .isEqualTo(
                      AuthPolicy.newBuilder()
                          .setProvider("corp")
                          .addRequiredScopes("orders:read")
                          .addRequiredClaims(
                              ClaimRequirement.newBuilder()
                                  .setName("org.tier")
                                  .addAllValues(List.of("gold", "silver")))
                          .addForwardClaims(
                              ClaimToHeader.newBuilder().setClaim("sub").setHeader("x-user-id"))
                          .build());
              assertThat(request.getRateLimit())
                  .isEqualTo(
                      RateLimitPolicy.newBuilder()
                          .setRequests(100)
                          .setUnit(RateLimitPolicy.Unit.SECOND)
                          .setScope(RateLimitPolicy.Scope.GLOBAL)
                          .setPerClientIp(true)
                          .setFailureMode(RateLimitPolicy.FailureMode.DENY)
                          .build());

              Route prefix = request.getRoutes(0);
              assertThat(prefix.getPath())
                  .isEqualTo(PathMatch.newBuilder().setPrefix("/orders").build());
              assertThat(prefix.getMethodsList()).containsExactly("GET", "POST");
              assertThat(prefix.getHostsList()).containsExactly("api.example.com");
              assertThat(prefix.getPrefixRewrite()).isEqualTo("/");
              assertThat(prefix.getTimeout().getSeconds()).isEqualTo(3);
              Route exact = request.getRoutes(1);
              assertThat(exact.getPath().getExact()).isEqualTo("/orders/health");
              assertThat(exact.getPublic()).isTrue();
              Route regex = request.getRoutes(2);
              assertThat(regex.getPath().getRegex()).isEqualTo("/orders/[0-9]+/items");
              assertThat(regex.getRateLimit().getRequests()).isEqualTo(10);
              assertThat(regex.getRateLimit().getUnit()).isEqualTo(RateLimitPolicy.Unit.MINUTE);
            });
  }

  @Test
  void withoutAnInstanceIdTheInstanceIsNamedByItsAddress() {
    assertThat(Registrations.defaultInstanceId("orders", "10.0.0.7", 8080))
        .isEqualTo("orders-10.0.0.7-8080");
    assertThat(Registrations.defaultInstanceId("orders", "fd00::7", 8080))
        .isEqualTo("orders-fd00::7-8080");
    assertThat(Registrations.defaultInstanceId("orders", "host name%1", 8080))
        .isEqualTo("orders-host-name-1-8080");
  }

  @Test
  void startupFailsNamingTheMissingTarget() {
    runner
        .withPropertyValues("signalbox.plaintext=true")
        .run(
            context ->
                assertThat(rootMessage(context.getStartupFailure()))
                    .contains("signalbox.target is required"));
  }

  @Test
  void startupFailsWhenNeitherMutualTlsNorPlaintextIsChosen() {
    runner
        .withPropertyValues("signalbox.target=cp:18000")
        .run(
            context ->
                assertThat(rootMessage(context.getStartupFailure()))
                    .contains("signalbox.tls needs certificate, private-key and ca")
                    .contains("signalbox.plaintext=true"));
    runner
        .withPropertyValues(
            "signalbox.target=cp:18000", "signalbox.tls.certificate=/pki/orders.pem")
        .run(
            context ->
                assertThat(rootMessage(context.getStartupFailure()))
                    .contains("needs all of certificate, private-key and ca"));
  }

  @Test
  void meshKeysRegisterTheInstanceBehindItsSidecar() {
    runner
        .withPropertyValues(
            "signalbox.target=cp:18000",
            "signalbox.plaintext=true",
            "signalbox.mesh.sidecar-port=15006",
            "signalbox.mesh.allowed-callers=orders,spiffe://signalbox.local/service/billing",
            "signalbox.mesh.calls=users")
        .run(
            context -> {
              SignalboxProperties properties = context.getBean(SignalboxProperties.class);
              RegisterRequest request =
                  Registrations.of(properties, "users", "10.0.0.8", 8080, List.of()).toRequest();

              assertThat(request.getInstance().getPort())
                  .as("Envoy sends requests to the sidecar")
                  .isEqualTo(15006);
              assertThat(request.getInstance().getApplicationPort())
                  .as("the sidecar forwards to the web server")
                  .isEqualTo(8080);
              assertThat(request.getInstance().getId()).isEqualTo("users-10.0.0.8-15006");
              assertThat(request.getAllowedCallersList())
                  .containsExactly("orders", "spiffe://signalbox.local/service/billing");
              assertThat(request.getCallsList()).containsExactly("users");
            });
  }

  @Test
  void withoutASidecarTheInstanceIsTheWebServer() {
    runner
        .withPropertyValues("signalbox.target=cp:18000", "signalbox.plaintext=true")
        .run(
            context -> {
              RegisterRequest request =
                  Registrations.of(
                          context.getBean(SignalboxProperties.class),
                          "users",
                          "10.0.0.8",
                          8080,
                          List.of())
                      .toRequest();

              assertThat(request.getInstance().getPort()).isEqualTo(8080);
              assertThat(request.getInstance().getApplicationPort()).isZero();
              assertThat(request.getAllowedCallersList()).isEmpty();
              assertThat(request.getCallsList()).isEmpty();
            });
  }

  @Test
  void startupFailsWhenTheSidecarAndTheAdvertisedPortAreBothSet() {
    runner
        .withPropertyValues(
            "signalbox.target=cp:18000",
            "signalbox.plaintext=true",
            "signalbox.advertised-port=8080",
            "signalbox.mesh.sidecar-port=15006")
        .run(
            context ->
                assertThat(rootMessage(context.getStartupFailure()))
                    .contains("signalbox.mesh.sidecar-port")
                    .contains("set one of them"));
  }

  @Test
  void startupFailsOnARouteWithTwoPaths() {
    runner
        .withPropertyValues(
            "signalbox.target=cp:18000",
            "signalbox.plaintext=true",
            "signalbox.routes[0].prefix=/orders",
            "signalbox.routes[0].exact=/orders")
        .run(
            context ->
                assertThat(rootMessage(context.getStartupFailure()))
                    .contains("needs exactly one of prefix, exact and regex"));
  }

  @Test
  void nothingIsRequiredOfADisabledStarter() {
    runner
        .withPropertyValues("signalbox.enabled=false")
        .run(context -> assertThat(context).hasNotFailed());
  }

  static String rootMessage(Throwable failure) {
    assertThat(failure).as("startup failure").isNotNull();
    Throwable cause = failure;
    while (cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause.getMessage();
  }
}
