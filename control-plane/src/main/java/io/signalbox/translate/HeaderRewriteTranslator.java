package io.signalbox.translate;

import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption.HeaderAppendAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.signalbox.model.HeaderRewrite;
import io.signalbox.model.RouteSpec;
import java.util.List;
import java.util.function.Consumer;

/** A route's header changes on the request and on the response. */
final class HeaderRewriteTranslator {

  private HeaderRewriteTranslator() {}

  static void apply(RouteSpec spec, Route.Builder route) {
    changes(
        spec.requestHeaders(), route::addRequestHeadersToAdd, route::addAllRequestHeadersToRemove);
    changes(
        spec.responseHeaders(),
        route::addResponseHeadersToAdd,
        route::addAllResponseHeadersToRemove);
  }

  private static void changes(
      HeaderRewrite rewrite, Consumer<HeaderValueOption> add, Consumer<List<String>> remove) {
    rewrite
        .set()
        .forEach(
            (name, value) ->
                add.accept(option(name, value, HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD)));
    rewrite
        .add()
        .forEach(
            (name, value) ->
                add.accept(option(name, value, HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD)));
    if (!rewrite.remove().isEmpty()) {
      remove.accept(rewrite.remove());
    }
  }

  private static HeaderValueOption option(String name, String value, HeaderAppendAction action) {
    return HeaderValueOption.newBuilder()
        .setHeader(HeaderValue.newBuilder().setKey(name).setValue(value))
        .setAppendAction(action)
        .build();
  }
}
