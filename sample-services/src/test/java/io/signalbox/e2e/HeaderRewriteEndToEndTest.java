package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.signalbox.client.ServiceRegistration;
import io.signalbox.registry.v1.HeaderRewrite;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.Route;
import io.signalbox.samples.EchoService;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.HttpProbe;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A route's header changes through real Envoy: the instance sees the request header that was set
 * and not the one that was removed; the client sees the response header that was set and not the
 * one that was removed.
 */
@ExtendWith(EnvoyLogsOnFailure.class)
class HeaderRewriteEndToEndTest {

  @Test
  void headersAreSetAndRemovedOnTheRequestAndTheResponse() {
    try (GatewayFixture gateway = GatewayFixture.start(EnvoyProcess.XdsMode.DELTA)) {
      EchoService backend = gateway.backend("orders", "orders-1");
      gateway.register(
          ServiceRegistration.builder("orders")
              .instance("orders-1", "127.0.0.1", backend.port())
              .route(
                  Route.newBuilder()
                      .setPath(PathMatch.newBuilder().setPrefix("/orders"))
                      .setRequestHeaders(
                          HeaderRewrite.newBuilder()
                              .putSet("x-gateway", "signalbox")
                              .addRemove("x-debug"))
                      .setResponseHeaders(
                          HeaderRewrite.newBuilder()
                              .putSet("cache-control", "no-store")
                              .addRemove(EchoService.INSTANCE_HEADER))
                      .build())
              .build());
      HttpProbe.awaitStatus(gateway.url("/orders"), 200, Duration.ofSeconds(10));

      HttpProbe.Response response =
          HttpProbe.get(gateway.url("/orders/1"), Map.of("x-debug", "secret", "x-kept", "yes"));

      assertThat(response.status()).isEqualTo(200);
      assertThat(response.body())
          .as("the request as the instance saw it")
          .contains("\"x-gateway\":\"signalbox\"")
          .contains("\"x-kept\":\"yes\"")
          .doesNotContain("x-debug");
      assertThat(response.headers().firstValue("cache-control")).contains("no-store");
      assertThat(response.headers().firstValue(EchoService.INSTANCE_HEADER)).isEmpty();
    }
  }
}
