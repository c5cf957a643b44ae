package io.signalbox.store;

import static io.signalbox.store.JsonFields.list;
import static io.signalbox.store.JsonFields.required;
import static io.signalbox.store.JsonFields.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.signalbox.model.AuthRequirement;
import io.signalbox.model.CorsPolicy;
import io.signalbox.model.HeaderMatch;
import io.signalbox.model.HeaderRewrite;
import io.signalbox.model.Instance;
import io.signalbox.model.MeshPolicy;
import io.signalbox.model.PathMatch;
import io.signalbox.model.RateLimit;
import io.signalbox.model.Registration;
import io.signalbox.model.RetryPolicy;
import io.signalbox.model.RouteAction;
import io.signalbox.model.RouteMatch;
import io.signalbox.model.RouteSpec;
import io.signalbox.model.TrafficPolicy;
import io.signalbox.model.UpstreamProtocol;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A stored lease as JSON: readable with any tool when something goes wrong, written field by field
 * in a fixed order so that equal leases give equal bytes, and versioned by {@link #VERSION} so that
 * a newer format is refused rather than misread. Model records are written explicitly (not by
 * reflection): renaming a field in the model must not silently change what is on disk.
 */
final class StoredLeaseCodec {

  /**
   * Bumped when a field changes meaning or a reader of the previous version could not read the new
   * one.
   */
  static final int VERSION = 1;

  private static final ObjectMapper json = new ObjectMapper();

  private StoredLeaseCodec() {}

  static byte[] encode(StoredLease lease) {
    ObjectNode node = json.createObjectNode();
    node.put("v", VERSION);
    node.put("leaseId", lease.leaseId());
    node.put("sequence", lease.sequence());
    node.put("ttlMillis", lease.ttl().toMillis());
    node.put("registeredAt", lease.registeredAt().toString());
    node.put("expiresAt", lease.expiresAt().toString());
    node.put("drained", lease.drained());
    if (lease.notServing()) {
      node.put("notServing", true);
    }
    Registration registration = lease.registration();
    node.put("service", registration.service());
    // Omitted when empty (registered without TLS): leases written before registrants existed read
    // the same.
    if (!registration.registrant().isEmpty()) {
      node.put("registrant", registration.registrant());
    }
    if (registration.protocol() != UpstreamProtocol.HTTP1) {
      node.put("protocol", registration.protocol().name());
    }
    if (!registration.mesh().allowedCallers().isEmpty()) {
      ArrayNode callers = node.putArray("allowedCallers");
      registration.mesh().allowedCallers().forEach(callers::add);
    }
    if (registration.mesh().scoped()) {
      ArrayNode calls = node.putArray("calls");
      registration.mesh().calls().forEach(calls::add);
    }
    if (!registration.traffic().equals(TrafficPolicy.DEFAULT)) {
      TrafficPolicyCodec.encode(registration.traffic(), node.putObject("traffic"));
    }
    if (!registration.delegatedPrefixes().isEmpty()) {
      ArrayNode delegated = node.putArray("delegatedPrefixes");
      registration.delegatedPrefixes().forEach(delegated::add);
    }
    Instance instance = registration.instance();
    ObjectNode instanceNode = node.putObject("instance");
    instanceNode.put("id", instance.id());
    instanceNode.put("host", instance.host());
    instanceNode.put("address", instance.address());
    instanceNode.put("port", instance.port());
    instanceNode.put("zone", instance.zone());
    instanceNode.put("weight", instance.weight());
    if (instance.hasSidecar()) {
      instanceNode.put("applicationPort", instance.applicationPort());
    }
    ObjectNode metadata = instanceNode.putObject("metadata");
    instance.metadata().forEach(metadata::put);
    ArrayNode routes = node.putArray("routes");
    registration.routes().forEach(route -> encodeRoute(route, routes.addObject()));
    try {
      return json.writeValueAsBytes(node);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * @throws IllegalArgumentException when the bytes are not a lease this version can read; the
   *     message says why
   */
  static StoredLease decode(byte[] bytes) {
    JsonNode node;
    try {
      node = json.readTree(bytes);
    } catch (IOException e) {
      throw new IllegalArgumentException("not JSON: " + e.getMessage(), e);
    }
    if (node == null || !node.isObject()) {
      throw new IllegalArgumentException("not a JSON object");
    }
    int version = required(node, "v").asInt();
    if (version > VERSION) {
      throw new IllegalArgumentException(
          "written in format version "
              + version
              + " by a newer Signalbox; this one "
              + "reads up to version "
              + VERSION);
    }
    JsonNode instanceNode = required(node, "instance");
    Map<String, String> metadata = new LinkedHashMap<>();
    instanceNode
        .path("metadata")
        .fields()
        .forEachRemaining(e -> metadata.put(e.getKey(), e.getValue().asText()));
    Instance instance =
        new Instance(
            text(instanceNode, "id"),
            text(instanceNode, "host"),
            text(instanceNode, "address"),
            required(instanceNode, "port").asInt(),
            instanceNode.path("zone").asText(""),
            instanceNode.path("weight").asInt(Instance.DEFAULT_WEIGHT),
            metadata,
            instanceNode.path("applicationPort").asInt(0));
    List<RouteSpec> routes = list(node.path("routes"), StoredLeaseCodec::decodeRoute);
    try {
      return new StoredLease(
          new Registration(
              text(node, "service"),
              instance,
              routes,
              node.path("registrant").asText(""),
              list(node.path("delegatedPrefixes"), JsonNode::asText),
              UpstreamProtocol.valueOf(node.path("protocol").asText("HTTP1")),
              node.has("traffic")
                  ? TrafficPolicyCodec.decode(node.get("traffic"))
                  : TrafficPolicy.DEFAULT,
              new MeshPolicy(
                  list(node.path("allowedCallers"), JsonNode::asText),
                  list(node.path("calls"), JsonNode::asText))),
          text(node, "leaseId"),
          required(node, "sequence").asLong(),
          Duration.ofMillis(required(node, "ttlMillis").asLong()),
          Instant.parse(text(node, "registeredAt")),
          Instant.parse(text(node, "expiresAt")),
          node.path("drained").asBoolean(false),
          node.path("notServing").asBoolean(false));
    } catch (java.time.format.DateTimeParseException e) {
      throw new IllegalArgumentException("bad timestamp: " + e.getMessage(), e);
    }
  }

  private static void encodeRoute(RouteSpec route, ObjectNode node) {
    ArrayNode hosts = node.putArray("hosts");
    route.hosts().forEach(hosts::add);
    RouteMatch match = route.match();
    node.put("pathKind", match.path().kind().name());
    node.put("path", match.path().value());
    ArrayNode headers = node.putArray("headers");
    for (HeaderMatch header : match.headers()) {
      ObjectNode headerNode = headers.addObject();
      headerNode.put("name", header.name());
      headerNode.put("kind", header.kind().name());
      headerNode.put("value", header.value());
      headerNode.put("invert", header.invert());
    }
    ArrayNode methods = node.putArray("methods");
    match.methods().forEach(methods::add);
    route.prefixRewrite().ifPresent(rewrite -> node.put("prefixRewrite", rewrite));
    route.timeout().ifPresent(timeout -> node.put("timeoutMillis", timeout.toMillis()));
    route.auth().ifPresent(auth -> encodeAuth(auth, node.putObject("auth")));
    node.put("public", route.publicRoute());
    route
        .rateLimit()
        .ifPresent(
            limit -> {
              ObjectNode limitNode = node.putObject("rateLimit");
              limitNode.put("requests", limit.requests());
              limitNode.put("unit", limit.unit().name());
              limitNode.put("scope", limit.scope().name());
              limitNode.put("perClientIp", limit.perClientIp());
              limit.perHeader().ifPresent(header -> limitNode.put("perHeader", header));
              limit.failureMode().ifPresent(mode -> limitNode.put("failureMode", mode.name()));
            });
    route
        .cors()
        .ifPresent(
            cors -> {
              ObjectNode corsNode = node.putObject("cors");
              ArrayNode origins = corsNode.putArray("allowOrigins");
              cors.allowOrigins().forEach(origins::add);
              ArrayNode corsMethods = corsNode.putArray("allowMethods");
              cors.allowMethods().forEach(corsMethods::add);
              ArrayNode allowHeaders = corsNode.putArray("allowHeaders");
              cors.allowHeaders().forEach(allowHeaders::add);
              ArrayNode exposeHeaders = corsNode.putArray("exposeHeaders");
              cors.exposeHeaders().forEach(exposeHeaders::add);
              cors.maxAge().ifPresent(age -> corsNode.put("maxAgeNanos", age.toNanos()));
              corsNode.put("allowCredentials", cors.allowCredentials());
            });
    if (!route.action().equals(RouteAction.FORWARD)) {
      RouteActionCodec.encode(route.action(), node.putObject("action"));
    }
    if (!route.requestHeaders().isEmpty()) {
      encodeHeaders(route.requestHeaders(), node.putObject("requestHeaders"));
    }
    if (!route.responseHeaders().isEmpty()) {
      encodeHeaders(route.responseHeaders(), node.putObject("responseHeaders"));
    }
    route
        .retry()
        .ifPresent(
            retry -> {
              ObjectNode retryNode = node.putObject("retry");
              retryNode.put("attempts", retry.attempts());
              retry
                  .perTryTimeout()
                  .ifPresent(timeout -> retryNode.put("perTryTimeoutNanos", timeout.toNanos()));
              ArrayNode retryOn = retryNode.putArray("retryOn");
              retry.retryOn().forEach(retryOn::add);
              ArrayNode codes = retryNode.putArray("retriableStatusCodes");
              retry.retriableStatusCodes().forEach(codes::add);
              retry
                  .backoff()
                  .ifPresent(
                      backoff ->
                          retryNode
                              .put("backoffBaseNanos", backoff.base().toNanos())
                              .put("backoffMaxNanos", backoff.max().toNanos()));
            });
  }

  private static void encodeHeaders(HeaderRewrite rewrite, ObjectNode node) {
    ObjectNode set = node.putObject("set");
    rewrite.set().forEach(set::put);
    ObjectNode add = node.putObject("add");
    rewrite.add().forEach(add::put);
    ArrayNode remove = node.putArray("remove");
    rewrite.remove().forEach(remove::add);
  }

  private static HeaderRewrite decodeHeaders(JsonNode node) {
    if (node == null) {
      return HeaderRewrite.NONE;
    }
    Map<String, String> set = new LinkedHashMap<>();
    node.path("set").fields().forEachRemaining(e -> set.put(e.getKey(), e.getValue().asText()));
    Map<String, String> add = new LinkedHashMap<>();
    node.path("add").fields().forEachRemaining(e -> add.put(e.getKey(), e.getValue().asText()));
    return new HeaderRewrite(
        new java.util.TreeMap<>(set),
        new java.util.TreeMap<>(add),
        list(node.path("remove"), JsonNode::asText));
  }

  private static void encodeAuth(AuthRequirement auth, ObjectNode node) {
    node.put("provider", auth.provider());
    ArrayNode scopes = node.putArray("requiredScopes");
    auth.requiredScopes().forEach(scopes::add);
    ArrayNode claims = node.putArray("requiredClaims");
    for (AuthRequirement.ClaimRequirement claim : auth.requiredClaims()) {
      ObjectNode claimNode = claims.addObject();
      claimNode.put("name", claim.name());
      ArrayNode values = claimNode.putArray("values");
      claim.values().forEach(values::add);
    }
    ArrayNode forward = node.putArray("forwardClaims");
    for (AuthRequirement.ClaimToHeader claim : auth.forwardClaims()) {
      ObjectNode claimNode = forward.addObject();
      claimNode.put("claim", claim.claim());
      claimNode.put("header", claim.header());
    }
  }

  private static RouteSpec decodeRoute(JsonNode node) {
    RouteMatch match =
        new RouteMatch(
            new PathMatch(PathMatch.Kind.valueOf(text(node, "pathKind")), text(node, "path")),
            list(
                node.path("headers"),
                h ->
                    new HeaderMatch(
                        text(h, "name"),
                        HeaderMatch.Kind.valueOf(text(h, "kind")),
                        h.path("value").asText(""),
                        h.path("invert").asBoolean(false))),
            list(node.path("methods"), JsonNode::asText));
    Optional<AuthRequirement> auth =
        Optional.ofNullable(node.get("auth")).map(StoredLeaseCodec::decodeAuth);
    Optional<RateLimit> rateLimit =
        Optional.ofNullable(node.get("rateLimit"))
            .map(
                l ->
                    new RateLimit(
                        required(l, "requests").asInt(),
                        RateLimit.Unit.valueOf(text(l, "unit")),
                        RateLimit.Scope.valueOf(text(l, "scope")),
                        l.path("perClientIp").asBoolean(false),
                        Optional.ofNullable(l.get("perHeader")).map(JsonNode::asText),
                        Optional.ofNullable(l.get("failureMode"))
                            .map(m -> RateLimit.FailureMode.valueOf(m.asText()))));
    Optional<RetryPolicy> retry =
        Optional.ofNullable(node.get("retry"))
            .map(
                r ->
                    new RetryPolicy(
                        required(r, "attempts").asInt(),
                        Optional.ofNullable(r.get("perTryTimeoutNanos"))
                            .map(t -> Duration.ofNanos(t.asLong())),
                        list(r.path("retryOn"), JsonNode::asText),
                        list(r.path("retriableStatusCodes"), JsonNode::asInt),
                        Optional.ofNullable(r.get("backoffBaseNanos"))
                            .map(
                                base ->
                                    new RetryPolicy.Backoff(
                                        Duration.ofNanos(base.asLong()),
                                        Duration.ofNanos(
                                            required(r, "backoffMaxNanos").asLong())))));
    return new RouteSpec(
        list(node.path("hosts"), JsonNode::asText),
        match,
        Optional.ofNullable(node.get("prefixRewrite")).map(JsonNode::asText),
        Optional.ofNullable(node.get("timeoutMillis")).map(t -> Duration.ofMillis(t.asLong())),
        auth,
        node.path("public").asBoolean(false),
        rateLimit,
        retry,
        decodeHeaders(node.get("requestHeaders")),
        decodeHeaders(node.get("responseHeaders")),
        Optional.ofNullable(node.get("cors"))
            .map(
                c ->
                    new CorsPolicy(
                        list(c.path("allowOrigins"), JsonNode::asText),
                        list(c.path("allowMethods"), JsonNode::asText),
                        list(c.path("allowHeaders"), JsonNode::asText),
                        list(c.path("exposeHeaders"), JsonNode::asText),
                        Optional.ofNullable(c.get("maxAgeNanos"))
                            .map(n -> Duration.ofNanos(n.asLong())),
                        c.path("allowCredentials").asBoolean(false))),
        Optional.ofNullable(node.get("action"))
            .map(RouteActionCodec::decode)
            .orElse(RouteAction.FORWARD));
  }

  private static AuthRequirement decodeAuth(JsonNode node) {
    return new AuthRequirement(
        text(node, "provider"),
        list(node.path("requiredScopes"), JsonNode::asText),
        list(
            node.path("requiredClaims"),
            c ->
                new AuthRequirement.ClaimRequirement(
                    text(c, "name"), list(c.path("values"), JsonNode::asText))),
        list(
            node.path("forwardClaims"),
            c -> new AuthRequirement.ClaimToHeader(text(c, "claim"), text(c, "header"))));
  }
}
