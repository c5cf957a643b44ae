package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.signalbox.client.ServiceRegistration;
import io.signalbox.registry.v1.DirectResponse;
import io.signalbox.registry.v1.HeaderRewrite;
import io.signalbox.registry.v1.Mirror;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.Redirect;
import io.signalbox.registry.v1.Route;
import io.signalbox.samples.EchoService;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.HttpProbe;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What a route does, through real Envoy: a redirect to https and a fixed answer given by Envoy
 * itself, a WebSocket forwarded both ways, and requests copied to a shadow service.
 */
@ExtendWith(EnvoyLogsOnFailure.class)
class RouteActionsEndToEndTest {

  private final HttpClient client = HttpClient.newHttpClient();

  private HttpResponse<String> get(String url) throws Exception {
    return client.send(
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static Route.Builder prefix(String prefix) {
    return Route.newBuilder().setPath(PathMatch.newBuilder().setPrefix(prefix));
  }

  @Test
  void envoyRedirectsAndAnswersByItselfWhileOtherRoutesForward() throws Exception {
    try (GatewayFixture gateway = GatewayFixture.start(EnvoyProcess.XdsMode.DELTA)) {
      EchoService site = gateway.backend("site", "site-1");
      gateway.register(
          ServiceRegistration.builder("site")
              .instance("site-1", "127.0.0.1", site.port())
              .route(prefix("/login").setRedirect(Redirect.newBuilder().setScheme("https")).build())
              .route(
                  Route.newBuilder()
                      .setPath(PathMatch.newBuilder().setExact("/retired"))
                      .setDirectResponse(
                          DirectResponse.newBuilder().setStatus(410).setBody("this page is gone"))
                      .setResponseHeaders(
                          HeaderRewrite.newBuilder().putSet("content-type", "text/plain"))
                      .build())
              .route(prefix("/site").build())
              .build());
      HttpProbe.awaitStatus(gateway.url("/site"), 200, Duration.ofSeconds(10));

      HttpResponse<String> redirected = get(gateway.url("/login/form?next=%2Fhome"));
      assertThat(redirected.statusCode()).isEqualTo(301);
      assertThat(redirected.headers().firstValue("location").orElseThrow())
          .startsWith("https://127.0.0.1")
          .endsWith("/login/form?next=%2Fhome");
      assertThat(redirected.headers().firstValue(EchoService.INSTANCE_HEADER))
          .as("answered by Envoy, not the instance")
          .isEmpty();

      HttpResponse<String> retired = get(gateway.url("/retired"));
      assertThat(retired.statusCode()).isEqualTo(410);
      assertThat(retired.body()).isEqualTo("this page is gone");
      assertThat(retired.headers().firstValue("content-type")).contains("text/plain");
    }
  }

  @Test
  void aWebSocketIsForwardedBothWays() throws Exception {
    try (GatewayFixture gateway = GatewayFixture.start(EnvoyProcess.XdsMode.SOTW);
        WebSocketEchoServer echo = new WebSocketEchoServer("/live")) {
      gateway.register(
          ServiceRegistration.builder("live")
              .instance("live-1", "127.0.0.1", echo.port())
              .route(prefix("/live").setWebsocket(true).build())
              .build());
      // The route is served once an upgrade-less request reaches the instance (Netty answers 400).
      HttpProbe.awaitStatus(gateway.url("/live"), 400, Duration.ofSeconds(10));

      CompletableFuture<String> answer = new CompletableFuture<>();
      WebSocket socket =
          client
              .newWebSocketBuilder()
              .connectTimeout(Duration.ofSeconds(5))
              .buildAsync(
                  URI.create("ws://127.0.0.1:" + gateway.gatewayPort() + "/live"),
                  new WebSocket.Listener() {
                    @Override
                    public CompletionStage<?> onText(
                        WebSocket webSocket, CharSequence data, boolean last) {
                      answer.complete(data.toString());
                      return null;
                    }
                  })
              .get(10, TimeUnit.SECONDS);
      socket.sendText("hello", true).get(5, TimeUnit.SECONDS);

      assertThat(answer.get(10, TimeUnit.SECONDS)).isEqualTo("echo: hello");
      socket.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void mirroredRequestsReachTheShadowServiceAndOnlyTheRealAnswerReturns() throws Exception {
    try (GatewayFixture gateway = GatewayFixture.start(EnvoyProcess.XdsMode.DELTA);
        ScriptedBackend shadow = ScriptedBackend.always("shadow", 500, Duration.ZERO)) {
      EchoService api = gateway.backend("api", "api-1");
      gateway.register(
          ServiceRegistration.builder("api-next")
              .instance("api-next-1", "127.0.0.1", shadow.port())
              .route(prefix("/api-next").build())
              .build());
      gateway.register(
          ServiceRegistration.builder("api")
              .instance("api-1", "127.0.0.1", api.port())
              .route(prefix("/api").setMirror(Mirror.newBuilder().setService("api-next")).build())
              .build());
      HttpProbe.awaitStatus(gateway.url("/api"), 200, Duration.ofSeconds(10));

      List<String> copies = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        HttpResponse<String> response = get(gateway.url("/api/items/" + i));
        assertThat(response.statusCode())
            .as("the shadow's 500 never reaches the client")
            .isEqualTo(200);
        assertThat(response.headers().firstValue(EchoService.INSTANCE_HEADER)).contains("api-1");
        copies.add("127.0.0.1-shadow /api/items/" + i);
      }

      await()
          .atMost(Duration.ofSeconds(5))
          .untilAsserted(() -> assertThat(shadow.received()).containsAll(copies));
    }
  }
}
