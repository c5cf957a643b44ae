package io.signalbox.store;

import static io.signalbox.store.JsonFields.required;
import static io.signalbox.store.JsonFields.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.signalbox.model.RouteAction;
import java.time.Duration;
import java.util.Optional;

/**
 * What a route does in a stored lease ({@link StoredLeaseCodec}): forward (with its mirror,
 * rewrite, fault, compression and limits), redirect or answer directly.
 */
final class RouteActionCodec {

  private RouteActionCodec() {}

  static void encode(RouteAction action, ObjectNode node) {
    if (action instanceof RouteAction.Forward forward) {
      node.put("kind", "FORWARD");
      node.put("websocket", forward.websocket());
      forward
          .mirror()
          .ifPresent(
              mirror -> {
                ObjectNode mirrorNode = node.putObject("mirror");
                mirrorNode.put("service", mirror.service());
                mirrorNode.put("percent", mirror.percent());
              });
      forward
          .regexRewrite()
          .ifPresent(
              rewrite ->
                  node.putObject("regexRewrite")
                      .put("pattern", rewrite.pattern())
                      .put("substitution", rewrite.substitution()));
      forward
          .fault()
          .ifPresent(
              fault -> {
                ObjectNode faultNode = node.putObject("fault");
                fault.delay().ifPresent(delay -> faultNode.put("delayNanos", delay.toNanos()));
                faultNode.put("delayPercent", fault.delayPercent());
                faultNode.put("abortStatus", fault.abortStatus());
                faultNode.put("abortPercent", fault.abortPercent());
              });
      if (forward.compress()) {
        node.put("compress", true);
      }
      if (forward.maxRequestBytes() > 0) {
        node.put("maxRequestBytes", forward.maxRequestBytes());
      }
      forward.idleTimeout().ifPresent(idle -> node.put("idleTimeoutNanos", idle.toNanos()));
    } else if (action instanceof RouteAction.Redirect redirect) {
      node.put("kind", "REDIRECT");
      redirect.scheme().ifPresent(scheme -> node.put("scheme", scheme));
      redirect.host().ifPresent(host -> node.put("host", host));
      node.put("port", redirect.port());
      redirect.path().ifPresent(path -> node.put("path", path));
      node.put("code", redirect.code());
      node.put("stripQuery", redirect.stripQuery());
    } else if (action instanceof RouteAction.DirectResponse response) {
      node.put("kind", "DIRECT_RESPONSE");
      node.put("status", response.status());
      node.put("body", response.body());
    }
  }

  static RouteAction decode(JsonNode node) {
    return switch (text(node, "kind")) {
      case "FORWARD" ->
          RouteAction.Forward.builder()
              .websocket(node.path("websocket").asBoolean(false))
              .mirror(
                  Optional.ofNullable(node.get("mirror"))
                      .map(
                          m ->
                              new RouteAction.Mirror(
                                  text(m, "service"), required(m, "percent").asInt())))
              .regexRewrite(
                  Optional.ofNullable(node.get("regexRewrite"))
                      .map(
                          r ->
                              new RouteAction.RegexRewrite(
                                  text(r, "pattern"), text(r, "substitution"))))
              .fault(
                  Optional.ofNullable(node.get("fault"))
                      .map(
                          f ->
                              new RouteAction.Fault(
                                  Optional.ofNullable(f.get("delayNanos"))
                                      .map(n -> Duration.ofNanos(n.asLong())),
                                  required(f, "delayPercent").asInt(),
                                  required(f, "abortStatus").asInt(),
                                  required(f, "abortPercent").asInt())))
              .compress(node.path("compress").asBoolean(false))
              .maxRequestBytes(node.path("maxRequestBytes").asInt(0))
              .idleTimeout(
                  Optional.ofNullable(node.get("idleTimeoutNanos"))
                      .map(n -> Duration.ofNanos(n.asLong())))
              .build();
      case "REDIRECT" ->
          new RouteAction.Redirect(
              Optional.ofNullable(node.get("scheme")).map(JsonNode::asText),
              Optional.ofNullable(node.get("host")).map(JsonNode::asText),
              node.path("port").asInt(0),
              Optional.ofNullable(node.get("path")).map(JsonNode::asText),
              required(node, "code").asInt(),
              node.path("stripQuery").asBoolean(false));
      case "DIRECT_RESPONSE" ->
          new RouteAction.DirectResponse(required(node, "status").asInt(), text(node, "body"));
      default -> throw new IllegalArgumentException("unknown route action " + text(node, "kind"));
    };
  }
}
