package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.signalbox.client.Registration;
import io.signalbox.client.Routes;
import io.signalbox.client.ServiceRegistration;
import io.signalbox.registry.v1.LoadBalancing;
import io.signalbox.registry.v1.TrafficPolicy;
import io.signalbox.samples.EchoService;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.HttpProbe;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Zone-aware routing through real Envoy: a gateway started with {@code --service-zone zone-a} sends
 * every request of a service that prefers the local zone to its zone-a instance, spreads a service
 * that does not over both zones, and leaves the zone as soon as the local instance stops serving.
 */
@ExtendWith(EnvoyLogsOnFailure.class)
class ZoneAwareRoutingEndToEndTest {

  private static final Duration REACHES_ENVOY = Duration.ofSeconds(10);
  private static final int REQUESTS = 100;

  private static Registration register(
      GatewayFixture gateway,
      String service,
      EchoService backend,
      String zone,
      boolean preferLocalZone) {
    return gateway.register(
        ServiceRegistration.builder(service)
            .instance(backend.instanceId(), "127.0.0.1", backend.port())
            .zone(zone)
            .route(Routes.prefix("/" + service))
            .traffic(
                TrafficPolicy.newBuilder()
                    .setLoadBalancing(
                        LoadBalancing.newBuilder().setPreferLocalZone(preferLocalZone))
                    .build())
            .build());
  }

  /** Instance → requests it answered, of {@value #REQUESTS} sent to {@code path}. */
  private static Map<String, Integer> spread(GatewayFixture gateway, String path) {
    Map<String, Integer> answered = new TreeMap<>();
    for (int i = 0; i < REQUESTS; i++) {
      HttpProbe.Response response = HttpProbe.get(gateway.url(path + "/" + i));
      assertThat(response.status()).as("request %d to %s", i, path).isEqualTo(200);
      answered.merge(
          response.headers().firstValue(EchoService.INSTANCE_HEADER).orElseThrow(),
          1,
          Integer::sum);
    }
    return answered;
  }

  /** Both instances of the service answer (the registrations are in Envoy). */
  private static void awaitBothInEnvoy(GatewayFixture gateway, String service) {
    Awaitility.await()
        .atMost(REACHES_ENVOY)
        // The stat exists once the cluster does.
        .ignoreException(java.util.NoSuchElementException.class)
        .until(
            () -> gateway.envoy().statValue("cluster.svc-" + service + ".membership_total") == 2);
  }

  @Test
  void aGatewayInAZoneSendsAServicePreferringItsZoneOnlyToTheLocalInstance() throws Exception {
    try (GatewayFixture gateway =
        GatewayFixture.startInZone(EnvoyProcess.XdsMode.DELTA, "zone-a")) {
      Registration localUsers =
          register(gateway, "users", gateway.backend("users", "users-a"), "zone-a", true);
      register(gateway, "users", gateway.backend("users", "users-b"), "zone-b", true);
      register(gateway, "orders", gateway.backend("orders", "orders-a"), "zone-a", false);
      register(gateway, "orders", gateway.backend("orders", "orders-b"), "zone-b", false);
      awaitBothInEnvoy(gateway, "users");
      awaitBothInEnvoy(gateway, "orders");

      assertThat(spread(gateway, "/users"))
          .as("users prefers the local zone")
          .containsExactly(Map.entry("users-a", REQUESTS));
      assertThat(spread(gateway, "/orders"))
          .as("orders does not: round robin over both zones")
          .containsOnlyKeys("orders-a", "orders-b");

      // The local instance stops serving: its zone has no healthy instance left, and the
      // requests leave it.
      localUsers.setServing(false);
      Awaitility.await()
          .atMost(REACHES_ENVOY)
          .until(
              () ->
                  "users-b"
                      .equals(
                          HttpProbe.get(gateway.url("/users"))
                              .headers()
                              .firstValue(EchoService.INSTANCE_HEADER)
                              .orElse("")));
      assertThat(spread(gateway, "/users")).containsExactly(Map.entry("users-b", REQUESTS));

      localUsers.setServing(true);
      Awaitility.await()
          .atMost(REACHES_ENVOY)
          .until(
              () ->
                  "users-a"
                      .equals(
                          HttpProbe.get(gateway.url("/users"))
                              .headers()
                              .firstValue(EchoService.INSTANCE_HEADER)
                              .orElse("")));
      assertThat(spread(gateway, "/users")).containsExactly(Map.entry("users-a", REQUESTS));
    }
  }

  @Test
  void aGatewayWithoutAZoneSpreadsEvenAServicePreferringTheLocalZone() throws Exception {
    try (GatewayFixture gateway = GatewayFixture.start(EnvoyProcess.XdsMode.DELTA)) {
      register(gateway, "users", gateway.backend("users", "users-a"), "zone-a", true);
      register(gateway, "users", gateway.backend("users", "users-b"), "zone-b", true);
      awaitBothInEnvoy(gateway, "users");

      assertThat(spread(gateway, "/users")).containsOnlyKeys("users-a", "users-b");
    }
  }
}
