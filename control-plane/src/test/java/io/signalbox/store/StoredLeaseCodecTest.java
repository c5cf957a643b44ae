package io.signalbox.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RouteAction;
import io.signalbox.model.RouteSpec;
import io.signalbox.model.UpstreamProtocol;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The registrant in a stored lease's JSON: kept, omitted when empty, and empty in leases written
 * before it.
 */
class StoredLeaseCodecTest {

  private static StoredLease lease(String registrant) {
    return new StoredLease(
        new Registration(
            "users",
            Instance.of("users-1", "10.0.0.1", 8080),
            List.of(RouteSpec.builder(PathMatch.prefix("/users")).build()),
            registrant),
        "lease-1",
        7,
        Duration.ofSeconds(30),
        Instant.parse("2026-01-01T00:00:00Z"),
        Instant.parse("2026-01-01T00:00:30Z"),
        false,
        false);
  }

  @Test
  void theRegistrantSurvivesARoundTrip() {
    StoredLease lease = lease("spiffe://example.org/ns/users/sa/users");

    StoredLease decoded = StoredLeaseCodec.decode(StoredLeaseCodec.encode(lease));

    assertThat(decoded).isEqualTo(lease);
    assertThat(decoded.registration().registrant())
        .isEqualTo("spiffe://example.org/ns/users/sa/users");
  }

  @Test
  void theUpstreamProtocolSurvivesARoundTripAndHttp1IsNotWritten() {
    StoredLease grpc =
        new StoredLease(
            lease("").registration().withProtocol(UpstreamProtocol.GRPC),
            "lease-1",
            1,
            Duration.ofSeconds(30),
            Instant.parse("2026-01-01T00:00:00Z"),
            Instant.parse("2026-01-01T00:00:30Z"),
            false,
            false);

    assertThat(StoredLeaseCodec.decode(StoredLeaseCodec.encode(grpc))).isEqualTo(grpc);
    assertThat(new String(StoredLeaseCodec.encode(lease("")), StandardCharsets.UTF_8))
        .as("a lease written before protocols existed reads as HTTP/1.1")
        .doesNotContain("protocol");
  }

  @Test
  void everyRouteActionSurvivesARoundTripAndForwardingIsNotWritten() {
    List<RouteSpec> routes =
        List.of(
            RouteSpec.builder(PathMatch.prefix("/old"))
                .action(
                    new RouteAction.Redirect(
                        Optional.of("https"),
                        Optional.of("example.com"),
                        8443,
                        Optional.of("/new"),
                        308,
                        true))
                .build(),
            RouteSpec.builder(PathMatch.exact("/gone"))
                .action(new RouteAction.DirectResponse(410, "gone"))
                .build(),
            RouteSpec.builder(PathMatch.prefix("/live"))
                .action(
                    RouteAction.Forward.builder()
                        .websocket(true)
                        .mirror(Optional.of(new RouteAction.Mirror("users-next", 25)))
                        .build())
                .build(),
            RouteSpec.builder(PathMatch.prefix("/shaped"))
                .action(
                    RouteAction.Forward.builder()
                        .regexRewrite(
                            Optional.of(
                                new RouteAction.RegexRewrite("^/shaped/(\\d+)$", "/items/\\1")))
                        .fault(
                            Optional.of(
                                new RouteAction.Fault(
                                    Optional.of(Duration.ofMillis(250)), 10, 503, 5)))
                        .compress(true)
                        .maxRequestBytes(1024)
                        .idleTimeout(Optional.of(Duration.ofSeconds(30)))
                        .build())
                .retry(
                    new io.signalbox.model.RetryPolicy(
                        2,
                        Optional.empty(),
                        List.of("5xx"),
                        List.of(),
                        Optional.of(
                            new io.signalbox.model.RetryPolicy.Backoff(
                                Duration.ofMillis(10), Duration.ofMillis(100)))))
                .build(),
            RouteSpec.builder(PathMatch.prefix("/aborts"))
                .action(
                    RouteAction.Forward.builder()
                        .fault(Optional.of(new RouteAction.Fault(Optional.empty(), 100, 418, 100)))
                        .build())
                .build());
    StoredLease lease =
        new StoredLease(
            new Registration("users", Instance.of("users-1", "10.0.0.1", 8080), routes, ""),
            "lease-1",
            1,
            Duration.ofSeconds(30),
            Instant.parse("2026-01-01T00:00:00Z"),
            Instant.parse("2026-01-01T00:00:30Z"),
            false,
            false);

    assertThat(StoredLeaseCodec.decode(StoredLeaseCodec.encode(lease))).isEqualTo(lease);
    assertThat(new String(StoredLeaseCodec.encode(lease("")), StandardCharsets.UTF_8))
        .as("a lease written before route actions existed reads as forwarding")
        .doesNotContain("action");
  }

  @Test
  void aSidecarsApplicationPortAllowedCallersAndCallsSurviveARoundTrip() {
    StoredLease plain = lease("");
    Registration registration =
        new Registration(
                "users",
                new Instance("users-1", "10.0.0.1", "10.0.0.1", 15006, "", 1, Map.of(), 8080),
                plain.registration().routes())
            .withMesh(
                new io.signalbox.model.MeshPolicy(
                    List.of("orders", "spiffe://signalbox.local/envoy/edge"),
                    List.of("billing", "orders")));
    StoredLease lease =
        new StoredLease(
            registration,
            "lease-1",
            7,
            Duration.ofSeconds(30),
            Instant.parse("2026-01-01T00:00:00Z"),
            Instant.parse("2026-01-01T00:00:30Z"),
            false,
            false);

    assertThat(StoredLeaseCodec.decode(StoredLeaseCodec.encode(lease))).isEqualTo(lease);
    assertThat(new String(StoredLeaseCodec.encode(plain), StandardCharsets.UTF_8))
        .as("a lease without a sidecar is written as before")
        .doesNotContain("applicationPort")
        .doesNotContain("allowedCallers")
        .doesNotContain("calls");
  }

  @Test
  void aTrafficPolicySurvivesARoundTrip() {
    io.signalbox.model.TrafficPolicy traffic =
        new io.signalbox.model.TrafficPolicy(
            io.signalbox.model.TrafficPolicy.LoadBalancer.MAGLEV,
            java.util.Optional.of(
                new io.signalbox.model.TrafficPolicy.HashOn(
                    io.signalbox.model.TrafficPolicy.HashOn.Kind.COOKIE, "session")),
            java.util.Optional.of(new io.signalbox.model.TrafficPolicy.CircuitBreaker(1, 2, 3, 4)),
            java.util.Optional.of(
                new io.signalbox.model.TrafficPolicy.OutlierDetection(
                    5, Duration.ofMillis(1500), Duration.ofSeconds(30), 50, 3)),
            java.util.Optional.of(
                new io.signalbox.model.TrafficPolicy.VersionSplit(
                    List.of(
                        new io.signalbox.model.TrafficPolicy.VersionWeight("v1", 90),
                        new io.signalbox.model.TrafficPolicy.VersionWeight("v2", 10)),
                    List.of(
                        io.signalbox.model.TrafficPolicy.VersionPin.header("x-canary", "1", "v2"),
                        new io.signalbox.model.TrafficPolicy.VersionPin(
                            io.signalbox.model.TrafficPolicy.VersionPin.PinOn.COOKIE,
                            "canary",
                            "yes",
                            "v2")))),
            java.util.Optional.of(
                new io.signalbox.model.TrafficPolicy.HealthCheck(
                    io.signalbox.model.TrafficPolicy.HealthCheck.Kind.HTTP,
                    "/healthz",
                    Duration.ofMillis(500),
                    Duration.ofMillis(200),
                    3,
                    2)),
            java.util.Optional.of(
                new io.signalbox.model.TrafficPolicy.UpstreamTls(
                    "billing.internal",
                    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
                    List.of("spiffe://example.test/billing", "billing.prod.internal"),
                    java.util.Optional.of("gateway"))),
            true);
    StoredLease lease =
        new StoredLease(
            lease("").registration().withTraffic(traffic),
            "lease-1",
            1,
            Duration.ofSeconds(30),
            Instant.parse("2026-01-01T00:00:00Z"),
            Instant.parse("2026-01-01T00:00:30Z"),
            false,
            false);

    assertThat(StoredLeaseCodec.decode(StoredLeaseCodec.encode(lease))).isEqualTo(lease);
    assertThat(new String(StoredLeaseCodec.encode(lease("")), StandardCharsets.UTF_8))
        .doesNotContain("traffic");
  }

  @Test
  void aLeaseRegisteredWithoutTlsIsWrittenWithoutARegistrantAndReadBackEmpty() {
    StoredLease lease = lease("");

    byte[] encoded = StoredLeaseCodec.encode(lease);

    assertThat(new String(encoded, StandardCharsets.UTF_8)).doesNotContain("registrant");
    assertThat(StoredLeaseCodec.decode(encoded)).isEqualTo(lease);
  }

  @Test
  void aLeaseWrittenBeforeRegistrantsExistedReadsAsRegisteredByNobodyInParticular() {
    String written =
        """
        {"v":1,"leaseId":"lease-old","sequence":3,"ttlMillis":30000,"registeredAt":"2025-06-01T00:00:00Z",\
        "expiresAt":"2025-06-01T00:00:30Z","drained":false,"service":"users","instance":{"id":"users-1",\
        "host":"users","address":"10.0.0.1","port":8080,"zone":"","weight":1,"metadata":{}},"routes":[]}""";

    StoredLease decoded = StoredLeaseCodec.decode(written.getBytes(StandardCharsets.UTF_8));

    assertThat(decoded.registration().registrant()).isEmpty();
    assertThat(decoded.registration().service()).isEqualTo("users");
    assertThat(decoded.leaseId()).isEqualTo("lease-old");
  }
}
