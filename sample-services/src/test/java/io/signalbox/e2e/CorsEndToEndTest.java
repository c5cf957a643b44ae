package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.signalbox.client.ServiceRegistration;
import io.signalbox.registry.v1.CorsPolicy;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.Route;
import io.signalbox.samples.EchoService;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.HttpProbe;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * CORS through real Envoy: a preflight from an allowed origin is answered by Envoy with the
 * policy's headers, one from another origin is not allowed, and a simple request from the allowed
 * origin carries the allow-origin header back.
 */
@ExtendWith(EnvoyLogsOnFailure.class)
class CorsEndToEndTest {

  private static final String APP = "https://app.example.com";
  private final HttpClient client = HttpClient.newHttpClient();

  private HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
    return client.send(
        request.timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> preflight(GatewayFixture gateway, String origin) throws Exception {
    return send(
        HttpRequest.newBuilder(URI.create(gateway.url("/api/items")))
            .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "PUT")
            .header("Access-Control-Request-Headers", "authorization"));
  }

  @Test
  void preflightsAreAnsweredPerPolicyAndAllowedOriginsGetTheirHeader() throws Exception {
    try (GatewayFixture gateway = GatewayFixture.start(EnvoyProcess.XdsMode.DELTA)) {
      EchoService backend = gateway.backend("api", "api-1");
      gateway.register(
          ServiceRegistration.builder("api")
              .instance("api-1", "127.0.0.1", backend.port())
              .route(
                  Route.newBuilder()
                      .setPath(PathMatch.newBuilder().setPrefix("/api"))
                      .setCors(
                          CorsPolicy.newBuilder()
                              .addAllowOrigins(APP)
                              .addAllowMethods("GET")
                              .addAllowMethods("PUT")
                              .addAllowHeaders("authorization")
                              .setMaxAge(com.google.protobuf.util.Durations.fromSeconds(600)))
                      .build())
              .build());
      HttpProbe.awaitStatus(gateway.url("/api"), 200, Duration.ofSeconds(10));

      HttpResponse<String> allowed = preflight(gateway, APP);
      assertThat(allowed.statusCode()).isEqualTo(200);
      assertThat(allowed.headers().firstValue("access-control-allow-origin")).contains(APP);
      assertThat(allowed.headers().firstValue("access-control-allow-methods"))
          .hasValueSatisfying(methods -> assertThat(methods).contains("PUT"));
      assertThat(allowed.headers().firstValue("access-control-max-age")).contains("600");
      assertThat(allowed.headers().firstValue(EchoService.INSTANCE_HEADER))
          .as("answered by Envoy, not the instance")
          .isEmpty();

      HttpResponse<String> refused = preflight(gateway, "https://evil.example.com");
      assertThat(refused.headers().firstValue("access-control-allow-origin")).isEmpty();

      HttpResponse<String> simple =
          send(HttpRequest.newBuilder(URI.create(gateway.url("/api/items"))).header("Origin", APP));
      assertThat(simple.statusCode()).isEqualTo(200);
      assertThat(simple.headers().firstValue("access-control-allow-origin")).contains(APP);
    }
  }
}
