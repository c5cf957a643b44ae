package io.signalbox.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.signalbox.registry.v1.HeaderMatch;
import io.signalbox.registry.v1.Instance;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.Route;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ServiceRegistrationTest {

  @Test
  void toRequestCarriesEveryPart() {
    ServiceRegistration registration =
        ServiceRegistration.builder("orders")
            .instance("orders-1", "10.0.0.7", 8080)
            .zone("eu-west-1a")
            .weight(5)
            .metadata("version", "1.4.2")
            .route(Routes.prefix("/orders"))
            .route(Routes.exact("/healthz"))
            .leaseTtl(Duration.ofMillis(1500))
            .protocol(io.signalbox.registry.v1.UpstreamProtocol.GRPC)
            .retry(io.signalbox.registry.v1.RetryPolicy.newBuilder().setAttempts(2).build())
            .build();

    assertThat(registration.toRequest())
        .isEqualTo(
            RegisterRequest.newBuilder()
                .setService("orders")
                .setInstance(
                    Instance.newBuilder()
                        .setId("orders-1")
                        .setHost("10.0.0.7")
                        .setPort(8080)
                        .setZone("eu-west-1a")
                        .setWeight(5)
                        .putMetadata("version", "1.4.2"))
                .addRoutes(Route.newBuilder().setPath(PathMatch.newBuilder().setPrefix("/orders")))
                .addRoutes(Route.newBuilder().setPath(PathMatch.newBuilder().setExact("/healthz")))
                .setLeaseTtl(
                    com.google.protobuf.Duration.newBuilder().setSeconds(1).setNanos(500_000_000))
                .setUpstreamProtocol(io.signalbox.registry.v1.UpstreamProtocol.GRPC)
                .setRetry(io.signalbox.registry.v1.RetryPolicy.newBuilder().setAttempts(2))
                .build());
  }

  @Test
  void optionalPartsLeftOutLeaveTheControlPlaneDefaults() {
    RegisterRequest request =
        ServiceRegistration.builder("users")
            .instance("users-1", "127.0.0.1", 9000)
            .build()
            .toRequest();

    assertThat(request.hasLeaseTtl()).isFalse();
    assertThat(request.getInstance().getWeight()).isZero();
    assertThat(request.getInstance().getZone()).isEmpty();
    assertThat(request.getRoutesList()).isEmpty();
    assertThat(request.getUpstreamProtocol())
        .isEqualTo(io.signalbox.registry.v1.UpstreamProtocol.UPSTREAM_PROTOCOL_UNSPECIFIED);
    assertThat(request.hasRetry()).isFalse();
  }

  @Test
  void isImmutable() {
    Map<String, String> metadata = new HashMap<>(Map.of("team", "checkout"));
    ServiceRegistration.Builder builder =
        ServiceRegistration.builder("orders")
            .instance("orders-1", "10.0.0.7", 8080)
            .metadata(metadata);
    ServiceRegistration registration = builder.build();

    metadata.put("team", "someone-else");
    builder.route(Routes.prefix("/later"));

    assertThat(registration.metadata()).containsExactly(Map.entry("team", "checkout"));
    assertThat(registration.routes()).isEmpty();
    assertThatThrownBy(() -> registration.metadata().put("x", "y"))
        .isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void rejectsObviousMistakesEarly() {
    assertThatThrownBy(() -> ServiceRegistration.builder(" "))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(
            () -> ServiceRegistration.builder("orders").instance("orders-1", "10.0.0.7", 0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ServiceRegistration.builder("orders").leaseTtl(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ServiceRegistration.builder("orders").build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("instance");
  }

  @Test
  void routeSpecsBuildTheProtoRoute() {
    Route route =
        Routes.prefix("/orders")
            .hosts("api.example.com")
            .methods("GET", "POST")
            .header(HeaderMatch.newBuilder().setName("x-tenant").setPresent(true).build())
            .prefixRewrite("/")
            .timeout(Duration.ofSeconds(3))
            .toProto();

    assertThat(route)
        .isEqualTo(
            Route.newBuilder()
                .setPath(PathMatch.newBuilder().setPrefix("/orders"))
                .addHosts("api.example.com")
                .addMethods("GET")
                .addMethods("POST")
                .addHeaders(HeaderMatch.newBuilder().setName("x-tenant").setPresent(true))
                .setPrefixRewrite("/")
                .setTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(3))
                .build());
    assertThat(Routes.regex("/orders/[0-9]+").toProto().getPath().getRegex())
        .isEqualTo("/orders/[0-9]+");
  }

  @Test
  void routeSpecsAreImmutableSoABaseCanBeShared() {
    RouteSpec base = Routes.prefix("/orders");

    RouteSpec reads = base.methods("GET");

    assertThat(base.toProto().getMethodsList()).isEmpty();
    assertThat(reads.toProto().getMethodsList()).containsExactly("GET");
  }

  @Test
  void prefixRewriteNeedsAPrefixMatch() {
    assertThatThrownBy(() -> Routes.exact("/orders").prefixRewrite("/"))
        .isInstanceOf(IllegalStateException.class);
  }
}
