package io.signalbox.spring;

import static io.signalbox.spring.HandlerRoutes.PathRoute.exact;
import static io.signalbox.spring.HandlerRoutes.PathRoute.prefix;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The rule of {@code derive-routes-from-handlers}: one route per distinct literal path. */
class HandlerRoutesTest {

  @Test
  void aLiteralPathIsAnExactRoute() {
    assertThat(HandlerRoutes.derive(List.of("/hello", "/status/live", "/")))
        .containsExactly(exact("/"), exact("/hello"), exact("/status/live"));
  }

  @Test
  void aPatternIsAPrefixRouteOfItsLiteralSegments() {
    assertThat(HandlerRoutes.derive(List.of("/orders/{id}", "/files/**", "/docs/*.html")))
        .containsExactly(prefix("/docs"), prefix("/files"), prefix("/orders"));
  }

  @Test
  void aRouteThatAnotherCoversIsLeftOut() {
    assertThat(
            HandlerRoutes.derive(
                List.of(
                    "/orders",
                    "/orders/{id}",
                    "/orders/{id}/items/{item}",
                    "/orders/special/{x}",
                    "/ordersx",
                    "/hello",
                    "/hello")))
        .containsExactly(exact("/hello"), prefix("/orders"), exact("/ordersx"));
  }

  @Test
  void aPatternWithoutLiteralSegmentsTakesEveryPath() {
    assertThat(HandlerRoutes.derive(List.of("/{slug}", "/hello"))).containsExactly(prefix("/"));
  }

  @Test
  void noHandlersNoRoutes() {
    assertThat(HandlerRoutes.derive(List.of())).isEmpty();
  }
}
