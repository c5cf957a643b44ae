package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.util.Durations;
import io.signalbox.client.ServiceRegistration;
import io.signalbox.config.GatewaySettings;
import io.signalbox.registry.v1.Fault;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.RegexRewrite;
import io.signalbox.registry.v1.Route;
import io.signalbox.samples.EchoService;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.HttpProbe;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Shaping forwarded requests, through real Envoy: a path rewritten by a regular expression,
 * injected aborts (all, and a share) and delays, brotli or gzip for clients that accept them, and a
 * request body limit answered with 413. Routes without these settings are left alone.
 */
@ExtendWith(EnvoyLogsOnFailure.class)
class RouteShapingEndToEndTest {

  private final HttpClient client = HttpClient.newHttpClient();

  private static Route.Builder prefix(String prefix) {
    return Route.newBuilder().setPath(PathMatch.newBuilder().setPrefix(prefix));
  }

  private HttpResponse<byte[]> send(HttpRequest.Builder request) throws Exception {
    return client.send(
        request.timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  private static String text(HttpResponse<byte[]> response) {
    return new String(response.body(), StandardCharsets.UTF_8);
  }

  @Test
  void forwardedRequestsAreRewrittenFaultedCompressedAndLimitedPerRoute() throws Exception {
    try (GatewayFixture gateway = GatewayFixture.start(EnvoyProcess.XdsMode.DELTA)) {
      EchoService catalog = gateway.backend("catalog", "catalog-1");
      gateway.register(
          ServiceRegistration.builder("catalog")
              .instance("catalog-1", "127.0.0.1", catalog.port())
              .route(
                  Route.newBuilder()
                      .setPath(PathMatch.newBuilder().setRegex("/v1/items/[0-9]+"))
                      .setRegexRewrite(
                          RegexRewrite.newBuilder()
                              .setPattern("^/v1/items/([0-9]+)$")
                              .setSubstitution("/items/\\1/detail"))
                      .build())
              .route(prefix("/v1/items").build())
              .route(prefix("/teapot").setFault(Fault.newBuilder().setAbortStatus(418)).build())
              .route(
                  prefix("/flaky")
                      .setFault(Fault.newBuilder().setAbortStatus(503).setAbortPercent(50))
                      .build())
              .route(
                  prefix("/slow")
                      .setFault(Fault.newBuilder().setDelay(Durations.fromMillis(400)))
                      .build())
              .route(prefix("/pages").setCompress(true).build())
              .route(prefix("/upload").setMaxRequestBytes(1024).build())
              .route(prefix("/plain").build())
              .build());
      HttpProbe.awaitStatus(gateway.url("/plain"), 200, Duration.ofSeconds(10));

      HttpResponse<byte[]> rewritten = send(HttpRequest.newBuilder(uri(gateway, "/v1/items/42")));
      assertThat(rewritten.statusCode()).isEqualTo(200);
      assertThat(text(rewritten)).contains("\"path\":\"/items/42/detail\"");

      for (int i = 0; i < 10; i++) {
        HttpResponse<byte[]> teapot = send(HttpRequest.newBuilder(uri(gateway, "/teapot")));
        assertThat(teapot.statusCode()).isEqualTo(418);
        assertThat(teapot.headers().firstValue(EchoService.INSTANCE_HEADER)).isEmpty();
      }
      int aborted = 0;
      int requests = 400;
      for (int i = 0; i < requests; i++) {
        int status = send(HttpRequest.newBuilder(uri(gateway, "/flaky"))).statusCode();
        assertThat(status).isIn(200, 503);
        aborted += status == 503 ? 1 : 0;
      }
      // 50 % of 400: the binomial's standard deviation is 10, so ±50 is five of them.
      assertThat(aborted).isBetween(150, 250);

      long start = System.nanoTime();
      assertThat(send(HttpRequest.newBuilder(uri(gateway, "/slow"))).statusCode()).isEqualTo(200);
      // Envoy times the delay on its event loop's cached clock, which can run a millisecond or so
      // ahead of ours (399.0 ms was measured once); the fault filter's own counter shows the delay
      // was its doing.
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .isGreaterThanOrEqualTo(Duration.ofMillis(395));
      assertThat(
              gateway
                  .envoy()
                  .statValue("http." + GatewaySettings.DEFAULT_LISTENER + ".fault.delays_injected"))
          .isEqualTo(1);
      assertThat(send(HttpRequest.newBuilder(uri(gateway, "/plain"))).statusCode()).isEqualTo(200);
      // Not delayed: the fault filter's count of delays did not move, told apart from a slow
      // machine's answer, which a bound on the request's time was not.
      assertThat(
              gateway
                  .envoy()
                  .statValue("http." + GatewaySettings.DEFAULT_LISTENER + ".fault.delays_injected"))
          .isEqualTo(1);

      HttpResponse<byte[]> gzipped =
          send(HttpRequest.newBuilder(uri(gateway, "/pages/a")).header("accept-encoding", "gzip"));
      assertThat(gzipped.headers().firstValue("content-encoding")).contains("gzip");
      assertThat(
              new String(
                  new GZIPInputStream(new ByteArrayInputStream(gzipped.body())).readAllBytes(),
                  StandardCharsets.UTF_8))
          .contains("\"path\":\"/pages/a\"");
      HttpResponse<byte[]> identity = send(HttpRequest.newBuilder(uri(gateway, "/pages/a")));
      assertThat(identity.headers().firstValue("content-encoding")).isEmpty();
      assertThat(text(identity)).contains("\"path\":\"/pages/a\"");
      HttpResponse<byte[]> uncompressedRoute =
          send(HttpRequest.newBuilder(uri(gateway, "/plain/a")).header("accept-encoding", "gzip"));
      assertThat(uncompressedRoute.headers().firstValue("content-encoding")).isEmpty();
      HttpResponse<byte[]> brotli =
          send(HttpRequest.newBuilder(uri(gateway, "/pages/a")).header("accept-encoding", "br"));
      assertThat(brotli.headers().firstValue("content-encoding")).contains("br");
      assertThat(brotli.body().length).isLessThan(identity.body().length);
      assertThat(
              send(HttpRequest.newBuilder(uri(gateway, "/pages/a"))
                      .header("accept-encoding", "br, gzip"))
                  .headers()
                  .firstValue("content-encoding"))
          .as("of equal weights, the one the client names first")
          .contains("br");
      assertThat(
              send(HttpRequest.newBuilder(uri(gateway, "/pages/a"))
                      .header("accept-encoding", "gzip;q=1.0, br;q=0.5"))
                  .headers()
                  .firstValue("content-encoding"))
          .as("the encoding the client prefers")
          .contains("gzip");

      HttpResponse<byte[]> small =
          send(
              HttpRequest.newBuilder(uri(gateway, "/upload"))
                  .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[1000])));
      HttpResponse<byte[]> large =
          send(
              HttpRequest.newBuilder(uri(gateway, "/upload"))
                  .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[2000])));
      HttpResponse<byte[]> largeElsewhere =
          send(
              HttpRequest.newBuilder(uri(gateway, "/plain"))
                  .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[2000])));
      assertThat(small.statusCode()).isEqualTo(200);
      assertThat(large.statusCode()).isEqualTo(413);
      assertThat(largeElsewhere.statusCode()).isEqualTo(200);
    }
  }

  @Test
  void aStreamThatSendsNothingForTheRoutesIdleTimeoutIsEnded() throws Exception {
    try (GatewayFixture gateway = GatewayFixture.start(EnvoyProcess.XdsMode.DELTA);
        ScriptedBackend stalled = ScriptedBackend.always("stalled", 200, Duration.ofSeconds(2))) {
      gateway.register(
          ServiceRegistration.builder("stalled")
              .instance("stalled-1", "127.0.0.1", stalled.port())
              .route(prefix("/stalled/idle").setIdleTimeout(Durations.fromMillis(300)).build())
              .route(prefix("/stalled").build())
              .build());
      HttpProbe.awaitStatus(gateway.url("/stalled"), 200, Duration.ofSeconds(15));

      long start = System.nanoTime();
      HttpResponse<byte[]> idle = send(HttpRequest.newBuilder(uri(gateway, "/stalled/idle")));
      Duration took = Duration.ofNanos(System.nanoTime() - start);

      assertThat(idle.statusCode()).as("ended by Envoy's stream idle timeout").isEqualTo(504);
      assertThat(took).isLessThan(Duration.ofMillis(1500));
      assertThat(send(HttpRequest.newBuilder(uri(gateway, "/stalled/slow"))).statusCode())
          .as("a route without one waits for the slow answer")
          .isEqualTo(200);
    }
  }

  private static URI uri(GatewayFixture gateway, String path) {
    return URI.create(gateway.url(path));
  }
}
