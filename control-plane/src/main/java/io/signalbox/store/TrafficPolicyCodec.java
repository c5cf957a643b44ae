package io.signalbox.store;

import static io.signalbox.store.JsonFields.list;
import static io.signalbox.store.JsonFields.required;
import static io.signalbox.store.JsonFields.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.signalbox.model.TrafficPolicy;
import java.time.Duration;
import java.util.Optional;

/**
 * A route's or service's traffic policy in a stored lease ({@link StoredLeaseCodec}): load
 * balancing, circuit breaking, outlier detection, health checks, retries, upstream protocol and
 * TLS, written field by field in a fixed order.
 */
final class TrafficPolicyCodec {

  private TrafficPolicyCodec() {}

  static void encode(TrafficPolicy traffic, ObjectNode node) {
    node.put("loadBalancer", traffic.loadBalancer().name());
    if (traffic.preferLocalZone()) {
      node.put("preferLocalZone", true);
    }
    traffic
        .hashOn()
        .ifPresent(
            key -> {
              node.put("hashOnKind", key.kind().name());
              node.put("hashOnName", key.name());
            });
    traffic
        .circuitBreaker()
        .ifPresent(
            limits -> {
              ObjectNode breaker = node.putObject("circuitBreaker");
              breaker.put("maxConnections", limits.maxConnections());
              breaker.put("maxPendingRequests", limits.maxPendingRequests());
              breaker.put("maxRequests", limits.maxRequests());
              breaker.put("maxRetries", limits.maxRetries());
            });
    traffic
        .outlierDetection()
        .ifPresent(
            outliers -> {
              ObjectNode detection = node.putObject("outlierDetection");
              detection.put("consecutive5xx", outliers.consecutive5xx());
              detection.put("intervalNanos", outliers.interval().toNanos());
              detection.put("baseEjectionTimeNanos", outliers.baseEjectionTime().toNanos());
              detection.put("maxEjectionPercent", outliers.maxEjectionPercent());
              if (outliers.consecutiveGatewayErrors() > 0) {
                detection.put("consecutiveGatewayErrors", outliers.consecutiveGatewayErrors());
              }
            });
    traffic
        .versions()
        .ifPresent(
            split -> {
              ObjectNode versions = node.putObject("versions");
              ArrayNode weights = versions.putArray("weights");
              split
                  .weights()
                  .forEach(
                      w ->
                          weights
                              .addObject()
                              .put("version", w.version())
                              .put("weight", w.weight()));
              ArrayNode pins = versions.putArray("pins");
              split
                  .pins()
                  .forEach(
                      p ->
                          pins.addObject()
                              // A lease stored before cookie pins has "header"; it reads the same.
                              .put(
                                  p.on() == TrafficPolicy.VersionPin.PinOn.COOKIE
                                      ? "cookie"
                                      : "header",
                                  p.name())
                              .put("value", p.value())
                              .put("version", p.version()));
            });
    traffic
        .healthCheck()
        .ifPresent(
            check ->
                node.putObject("healthCheck")
                    .put("kind", check.kind().name())
                    .put("target", check.target())
                    .put("intervalNanos", check.interval().toNanos())
                    .put("timeoutNanos", check.timeout().toNanos())
                    .put("unhealthyThreshold", check.unhealthyThreshold())
                    .put("healthyThreshold", check.healthyThreshold()));
    traffic
        .tls()
        .ifPresent(
            tls -> {
              ObjectNode tlsNode = node.putObject("tls").put("sni", tls.sni());
              tlsNode.put("caPem", tls.caPem());
              ArrayNode names = tlsNode.putArray("subjectAltNames");
              tls.subjectAltNames().forEach(names::add);
              tls.clientCertificate().ifPresent(name -> tlsNode.put("clientCertificate", name));
            });
  }

  static TrafficPolicy decode(JsonNode node) {
    return new TrafficPolicy(
        TrafficPolicy.LoadBalancer.valueOf(text(node, "loadBalancer")),
        node.has("hashOnKind")
            ? Optional.of(
                new TrafficPolicy.HashOn(
                    TrafficPolicy.HashOn.Kind.valueOf(text(node, "hashOnKind")),
                    node.path("hashOnName").asText("")))
            : Optional.empty(),
        Optional.ofNullable(node.get("circuitBreaker"))
            .map(
                b ->
                    new TrafficPolicy.CircuitBreaker(
                        b.path("maxConnections").asInt(),
                        b.path("maxPendingRequests").asInt(),
                        b.path("maxRequests").asInt(),
                        b.path("maxRetries").asInt())),
        Optional.ofNullable(node.get("outlierDetection"))
            .map(
                d ->
                    new TrafficPolicy.OutlierDetection(
                        required(d, "consecutive5xx").asInt(),
                        Duration.ofNanos(required(d, "intervalNanos").asLong()),
                        Duration.ofNanos(required(d, "baseEjectionTimeNanos").asLong()),
                        required(d, "maxEjectionPercent").asInt(),
                        d.path("consecutiveGatewayErrors").asInt(0))),
        Optional.ofNullable(node.get("versions"))
            .map(
                v ->
                    new TrafficPolicy.VersionSplit(
                        list(
                            v.path("weights"),
                            w ->
                                new TrafficPolicy.VersionWeight(
                                    text(w, "version"), required(w, "weight").asInt())),
                        list(
                            v.path("pins"),
                            p ->
                                p.has("cookie")
                                    ? new TrafficPolicy.VersionPin(
                                        TrafficPolicy.VersionPin.PinOn.COOKIE,
                                        text(p, "cookie"),
                                        text(p, "value"),
                                        text(p, "version"))
                                    : TrafficPolicy.VersionPin.header(
                                        text(p, "header"), text(p, "value"), text(p, "version"))))),
        Optional.ofNullable(node.get("healthCheck"))
            .map(
                h ->
                    new TrafficPolicy.HealthCheck(
                        TrafficPolicy.HealthCheck.Kind.valueOf(text(h, "kind")),
                        h.path("target").asText(""),
                        Duration.ofNanos(required(h, "intervalNanos").asLong()),
                        Duration.ofNanos(required(h, "timeoutNanos").asLong()),
                        required(h, "unhealthyThreshold").asInt(),
                        required(h, "healthyThreshold").asInt())),
        Optional.ofNullable(node.get("tls"))
            .map(
                t ->
                    new TrafficPolicy.UpstreamTls(
                        text(t, "sni"),
                        text(t, "caPem"),
                        list(t.path("subjectAltNames"), JsonNode::asText),
                        Optional.ofNullable(t.get("clientCertificate")).map(JsonNode::asText))),
        node.path("preferLocalZone").asBoolean(false));
  }
}
