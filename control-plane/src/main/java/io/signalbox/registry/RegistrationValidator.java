package io.signalbox.registry;

import static io.signalbox.registry.Fields.HEADER_NAME;
import static io.signalbox.registry.Fields.abbreviate;
import static io.signalbox.registry.Fields.check;

import com.google.common.net.InetAddresses;
import com.google.common.net.InternetDomainName;
import com.google.protobuf.util.Durations;
import com.google.re2j.Pattern;
import com.google.re2j.PatternSyntaxException;
import io.signalbox.model.AuthRequirement;
import io.signalbox.model.CorsPolicy;
import io.signalbox.model.HeaderMatch;
import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.RateLimit;
import io.signalbox.model.Registration;
import io.signalbox.model.RetryPolicy;
import io.signalbox.model.RouteMatch;
import io.signalbox.model.RouteSpec;
import io.signalbox.model.TrafficPolicy;
import io.signalbox.model.UpstreamProtocol;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.Route;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Checks every field of a {@link RegisterRequest} and turns it into a {@link Registration}. The
 * first invalid field is reported by its path, so a client can fix its request without reading
 * server logs.
 *
 * <p>Regular expressions are checked with RE2/J because Envoy evaluates them with RE2: a pattern
 * Java accepts but RE2 does not (a lookahead, a backreference) would otherwise be rejected by every
 * Envoy.
 */
public final class RegistrationValidator {

  public static final int MAX_MESSAGE_BYTES = 256 * 1024;
  public static final int MAX_ROUTES = 100;
  static final int MAX_HOSTS_PER_ROUTE = 16;
  static final int MAX_HEADERS_PER_ROUTE = 16;
  static final int MAX_METADATA = 32;
  static final int MAX_PATH_LENGTH = 1024;

  public static final java.util.regex.Pattern SERVICE_NAME = io.signalbox.model.Names.SERVICE;
  private static final java.util.regex.Pattern INSTANCE_ID =
      java.util.regex.Pattern.compile("[A-Za-z0-9._:-]{1,128}");
  private static final java.util.regex.Pattern ZONE = io.signalbox.model.Names.ZONE;
  private static final java.util.regex.Pattern METADATA_KEY =
      java.util.regex.Pattern.compile("[A-Za-z0-9._/-]{1,63}");

  /**
   * Printable ASCII without space, '?' and '#': a path as Envoy sees it after the query is split
   * off.
   */
  private static final java.util.regex.Pattern PATH =
      java.util.regex.Pattern.compile("/[\\x21-\\x7e&&[^?#]]*");

  static final Set<String> METHODS =
      Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE");

  private final HostResolver resolver;
  private final RegistrationRules rules;
  private final RouteResilienceValidator resilience;
  private final Supplier<Set<Integer>> controlPlanePorts;

  /** A validator for a gateway with the default settings (no JWT providers). */
  public RegistrationValidator(HostResolver resolver) {
    this(resolver, RegistrationRules.DEFAULT);
  }

  /**
   * @param rules what the gateway settings in force allow, read for every registration (settings
   *     reload)
   */
  public RegistrationValidator(HostResolver resolver, RegistrationRules rules) {
    this(resolver, rules, Set::of);
  }

  /**
   * @param controlPlanePorts the control plane's own ports (known once it listens), which no
   *     instance on its host may name
   */
  public RegistrationValidator(
      HostResolver resolver, RegistrationRules rules, Supplier<Set<Integer>> controlPlanePorts) {
    this.controlPlanePorts = controlPlanePorts;
    this.resolver = resolver;
    this.rules = rules;
    this.resilience = new RouteResilienceValidator(rules);
  }

  public Registration validate(RegisterRequest request) {
    int size = request.getSerializedSize();
    check(
        size <= MAX_MESSAGE_BYTES,
        "request",
        "message is " + size + " bytes; the limit is " + MAX_MESSAGE_BYTES);
    String service = request.getService();
    check(!service.isEmpty(), "service", "is required");
    check(service.length() <= 63, "service", "is longer than 63 characters");
    check(
        SERVICE_NAME.matcher(service).matches(),
        "service",
        "must be lowercase letters, digits and '-', starting with a letter and not ending with '-'");
    check(request.hasInstance(), "instance", "is required");
    Instance instance = instance(request.getInstance());
    int maxRoutes = Math.min(MAX_ROUTES, rules.maxRoutesPerService());
    check(
        request.getRoutesCount() <= maxRoutes,
        "routes",
        "has " + request.getRoutesCount() + " routes; the limit is " + maxRoutes);
    Set<String> providers = rules.jwtProviders();
    Optional<AuthRequirement> serviceAuth =
        request.hasAuth()
            ? Optional.of(PolicyValidator.auth("auth", request.getAuth(), providers))
            : Optional.empty();
    Optional<RateLimit> serviceLimit =
        request.hasRateLimit()
            ? Optional.of(PolicyValidator.rateLimit("rate_limit", request.getRateLimit()))
            : Optional.empty();
    Optional<RetryPolicy> serviceRetry =
        request.hasRetry()
            ? Optional.of(resilience.retry("retry", request.getRetry()))
            : Optional.empty();
    Optional<CorsPolicy> serviceCors =
        request.hasCors()
            ? Optional.of(RouteShapingValidator.cors("cors", request.getCors()))
            : Optional.empty();
    List<RouteSpec> routes = new ArrayList<>();
    Map<HostAndMatch, Integer> seen = new HashMap<>();
    for (int i = 0; i < request.getRoutesCount(); i++) {
      RouteSpec route =
          route(
              "routes[" + i + "]",
              service,
              request.getRoutes(i),
              providers,
              serviceAuth,
              serviceLimit,
              serviceRetry,
              serviceCors);
      for (String host : route.hosts().isEmpty() ? List.of("*") : route.hosts()) {
        Integer earlier = seen.putIfAbsent(new HostAndMatch(host, route.match()), i);
        check(
            earlier == null,
            "routes[" + i + "]",
            "has the same host and match as routes[" + earlier + "]");
      }
      routes.add(route);
    }
    if (request.hasLeaseTtl()) {
      check(
          Durations.isValid(request.getLeaseTtl()) && !Durations.isNegative(request.getLeaseTtl()),
          "lease_ttl",
          "must be a non-negative duration");
    }
    UpstreamProtocol protocol = protocol(request);
    return new Registration(service, instance, routes)
        .withMesh(MeshPolicyValidator.mesh(request))
        .withProtocol(protocol)
        .withTraffic(
            request.hasTraffic()
                ? TrafficPolicyValidator.traffic(
                    request.getTraffic(),
                    protocol,
                    rules.upstreamClientCertificatesFor(service),
                    rules.maxRegexProgramSize())
                : TrafficPolicy.DEFAULT);
  }

  private static UpstreamProtocol protocol(RegisterRequest request) {
    return switch (request.getUpstreamProtocol()) {
      case UPSTREAM_PROTOCOL_UNSPECIFIED, HTTP1 -> UpstreamProtocol.HTTP1;
      case HTTP2 -> UpstreamProtocol.HTTP2;
      case GRPC -> UpstreamProtocol.GRPC;
      case UNRECOGNIZED ->
          throw new InvalidFieldException(
              "upstream_protocol",
              "is not one of HTTP1, HTTP2, GRPC (value "
                  + request.getUpstreamProtocolValue()
                  + ")");
    };
  }

  /** The lease TTL the client asked for, if any; the store applies its bounds and default. */
  public static Optional<Duration> requestedTtl(RegisterRequest request) {
    if (!request.hasLeaseTtl()
        || (request.getLeaseTtl().getSeconds() == 0 && request.getLeaseTtl().getNanos() == 0)) {
      return Optional.empty();
    }
    // java.time.Duration, not nanoseconds: a valid proto Duration of centuries would overflow a
    // long of nanos.
    return Optional.of(
        Duration.ofSeconds(request.getLeaseTtl().getSeconds(), request.getLeaseTtl().getNanos()));
  }

  private record HostAndMatch(String host, RouteMatch match) {}

  private Instance instance(io.signalbox.registry.v1.Instance proto) {
    check(!proto.getId().isEmpty(), "instance.id", "is required");
    check(
        INSTANCE_ID.matcher(proto.getId()).matches(),
        "instance.id",
        "must be 1-128 characters of letters, digits, '.', '_', ':' and '-'");
    String host = proto.getHost();
    check(!host.isEmpty(), "instance.host", "is required");
    check(
        host.length() <= 253 && (InetAddresses.isInetAddress(host) || isDnsName(host)),
        "instance.host",
        "'" + abbreviate(host) + "' is neither an IP address nor a DNS name");
    check(
        proto.getPort() >= 1 && proto.getPort() <= 65535,
        "instance.port",
        Integer.toUnsignedString(proto.getPort()) + " is out of range 1-65535");
    check(
        ZONE.matcher(proto.getZone()).matches(),
        "instance.zone",
        "must be at most 63 characters of letters, digits, '.', '_' and '-'");
    // uint32 on the wire: compare unsigned, or 2^31 and above would pass as negative ints.
    check(
        Integer.toUnsignedLong(proto.getWeight()) <= 128,
        "instance.weight",
        Integer.toUnsignedString(proto.getWeight()) + " is out of range 1-128");
    check(
        proto.getMetadataCount() <= MAX_METADATA,
        "instance.metadata",
        "has more than " + MAX_METADATA + " entries");
    proto
        .getMetadataMap()
        .forEach(
            (key, value) -> {
              check(
                  METADATA_KEY.matcher(key).matches(),
                  "instance.metadata",
                  "key '" + abbreviate(key) + "' is invalid");
              check(
                  value.length() <= 256,
                  "instance.metadata[" + key + "]",
                  "is longer than 256 characters");
            });
    check(
        Integer.toUnsignedLong(proto.getApplicationPort()) <= 65535,
        "instance.application_port",
        Integer.toUnsignedString(proto.getApplicationPort()) + " is out of range 1-65535");
    // The sidecar's inbound listener binds the instance's port on every address, the application
    // listens on 127.0.0.1:application_port: on one port they would take each other's place.
    check(
        proto.getApplicationPort() == 0 || proto.getApplicationPort() != proto.getPort(),
        "instance.application_port",
        "must differ from instance.port, which the sidecar's inbound listener takes");
    String address =
        resolver
            .resolve(host)
            .orElseThrow(
                () ->
                    new InvalidFieldException(
                        "instance.host", "'" + host + "' does not resolve to an IP address"));
    // Checked on the resolved address: a DNS name must not lead where an IP literal may not.
    rules.upstreams().check(address, proto.getPort(), controlPlanePorts.get());
    return new Instance(
        proto.getId(),
        host,
        address,
        proto.getPort(),
        proto.getZone(),
        proto.getWeight(),
        proto.getMetadataMap(),
        proto.getApplicationPort());
  }

  private RouteSpec route(
      String field,
      String service,
      Route proto,
      Set<String> providers,
      Optional<AuthRequirement> serviceAuth,
      Optional<RateLimit> serviceLimit,
      Optional<RetryPolicy> serviceRetry,
      Optional<CorsPolicy> serviceCors) {
    check(proto.hasPath(), field + ".path", "a match (prefix, exact or regex) is required");
    PathMatch path =
        switch (proto.getPath().getKindCase()) {
          case PREFIX ->
              PathMatch.prefix(path(field + ".path.prefix", proto.getPath().getPrefix()));
          case EXACT -> PathMatch.exact(path(field + ".path.exact", proto.getPath().getExact()));
          case REGEX -> PathMatch.regex(regex(field + ".path.regex", proto.getPath().getRegex()));
          case KIND_NOT_SET ->
              throw new InvalidFieldException(
                  field + ".path", "a match (prefix, exact or regex) is required");
        };
    check(
        proto.getHostsCount() <= MAX_HOSTS_PER_ROUTE,
        field + ".hosts",
        "has more than " + MAX_HOSTS_PER_ROUTE);
    List<String> hosts = new ArrayList<>();
    for (int i = 0; i < proto.getHostsCount(); i++) {
      hosts.add(virtualHost(field + ".hosts[" + i + "]", proto.getHosts(i)));
    }
    check(
        proto.getHeadersCount() <= MAX_HEADERS_PER_ROUTE,
        field + ".headers",
        "has more than " + MAX_HEADERS_PER_ROUTE);
    List<HeaderMatch> headers = new ArrayList<>();
    for (int i = 0; i < proto.getHeadersCount(); i++) {
      headers.add(header(field + ".headers[" + i + "]", proto.getHeaders(i)));
    }
    List<String> methods = new ArrayList<>();
    for (int i = 0; i < proto.getMethodsCount(); i++) {
      String method = proto.getMethods(i);
      check(
          METHODS.contains(method),
          field + ".methods[" + i + "]",
          "'" + abbreviate(method) + "' is not one of " + new java.util.TreeSet<>(METHODS));
      methods.add(method);
    }
    Optional<String> rewrite = Optional.empty();
    if (!proto.getPrefixRewrite().isEmpty()) {
      check(
          path.kind() == PathMatch.Kind.PREFIX,
          field + ".prefix_rewrite",
          "is allowed only with a prefix match");
      rewrite = Optional.of(path(field + ".prefix_rewrite", proto.getPrefixRewrite()));
    }
    Optional<Duration> timeout =
        proto.hasTimeout()
            ? Optional.of(resilience.timeout(field + ".timeout", proto.getTimeout(), false))
            : proto.getWebsocket()
                ? Optional.of(resilience.webSocketTimeout())
                : resilience.unsetTimeout(proto);
    check(
        !(proto.getPublic() && proto.hasAuth()),
        field + ".public",
        "a public route cannot also set auth");
    Optional<AuthRequirement> auth =
        proto.hasAuth()
            ? Optional.of(PolicyValidator.auth(field + ".auth", proto.getAuth(), providers))
            : proto.getPublic() ? Optional.empty() : serviceAuth;
    Optional<RateLimit> rateLimit =
        proto.hasRateLimit()
            ? Optional.of(PolicyValidator.rateLimit(field + ".rate_limit", proto.getRateLimit()))
            : serviceLimit;
    Optional<RetryPolicy> retry =
        proto.hasRetry()
            ? Optional.of(resilience.retry(field + ".retry", proto.getRetry()))
            : serviceRetry;
    io.signalbox.model.RouteAction action =
        RouteActionValidator.action(
            field,
            proto,
            service,
            this::regex,
            proto.hasIdleTimeout()
                ? Optional.of(
                    resilience.timeout(field + ".idle_timeout", proto.getIdleTimeout(), true))
                : Optional.empty());
    // A route's own limit that could not count its requests would be dropped without a word.
    check(
        !proto.hasRateLimit() || rateLimit.get().countsOn(action),
        field + ".rate_limit",
        "a GLOBAL limit counts only routes that forward; a route with a redirect or a"
            + " direct_response can take a LOCAL limit");
    return new RouteSpec(
        hosts,
        new RouteMatch(path, headers, methods),
        rewrite,
        timeout,
        auth,
        proto.getPublic(),
        rateLimit,
        retry,
        RouteShapingValidator.headerRewrite(field + ".request_headers", proto.getRequestHeaders()),
        RouteShapingValidator.headerRewrite(
            field + ".response_headers", proto.getResponseHeaders()),
        proto.hasCors()
            ? Optional.of(RouteShapingValidator.cors(field + ".cors", proto.getCors()))
            : serviceCors,
        action);
  }

  static String path(String field, String value) {
    check(!value.isEmpty(), field, "is empty");
    check(
        value.length() <= MAX_PATH_LENGTH,
        field,
        "is longer than " + MAX_PATH_LENGTH + " characters");
    check(value.startsWith("/"), field, "'" + abbreviate(value) + "' must start with '/'");
    check(
        PATH.matcher(value).matches(),
        field,
        "'" + abbreviate(value) + "' may contain only printable ASCII without spaces, '?' and '#'");
    return value;
  }

  private String regex(String field, String value) {
    check(!value.isEmpty(), field, "is empty");
    check(
        value.length() <= MAX_PATH_LENGTH,
        field,
        "is longer than " + MAX_PATH_LENGTH + " characters");
    // Priced before it is compiled: compiling is what a hostile regex makes expensive.
    RegexProgramSize.check(field, value, rules.maxRegexProgramSize());
    try {
      Pattern.compile(value);
    } catch (PatternSyntaxException e) {
      throw new InvalidFieldException(
          field, "is not a valid RE2 regular expression: " + e.getDescription());
    }
    return value;
  }

  private static String virtualHost(String field, String host) {
    check(!host.isEmpty(), field, "is empty");
    check(
        host.equals(host.toLowerCase(java.util.Locale.ROOT)),
        field,
        "'" + abbreviate(host) + "' must be lowercase");
    String name = host.startsWith("*.") ? host.substring(2) : host;
    check(
        host.equals("*")
            || (host.length() <= 253 && (isDnsName(name) || InetAddresses.isInetAddress(name))),
        field,
        "'" + abbreviate(host) + "' is not a host name, '*.' wildcard or '*'");
    return host;
  }

  private HeaderMatch header(String field, io.signalbox.registry.v1.HeaderMatch proto) {
    check(
        HEADER_NAME.matcher(proto.getName()).matches(),
        field + ".name",
        "'" + abbreviate(proto.getName()) + "' is not a lowercase HTTP header name");
    return switch (proto.getKindCase()) {
      case EXACT ->
          new HeaderMatch(
              proto.getName(),
              HeaderMatch.Kind.EXACT,
              headerValue(field + ".exact", proto.getExact()),
              proto.getInvert());
      case PREFIX ->
          new HeaderMatch(
              proto.getName(),
              HeaderMatch.Kind.PREFIX,
              headerPrefix(field + ".prefix", proto.getPrefix()),
              proto.getInvert());
      case REGEX ->
          new HeaderMatch(
              proto.getName(),
              HeaderMatch.Kind.REGEX,
              regex(field + ".regex", proto.getRegex()),
              proto.getInvert());
      case PRESENT ->
          new HeaderMatch(
              proto.getName(),
              proto.getPresent() ? HeaderMatch.Kind.PRESENT : HeaderMatch.Kind.ABSENT,
              "",
              proto.getInvert());
      case KIND_NOT_SET ->
          throw new InvalidFieldException(
              field, "a match (exact, prefix, regex or present) is required");
    };
  }

  /** Envoy refuses an empty prefix (a StringMatcher prefix is at least one character). */
  private static String headerPrefix(String field, String value) {
    check(
        !value.isEmpty(),
        field,
        "must not be empty; to match a header with any value, use present: true");
    return headerValue(field, value);
  }

  private static String headerValue(String field, String value) {
    check(value.length() <= 1024, field, "is longer than 1024 characters");
    check(
        value.chars().allMatch(c -> c >= 0x20 && c < 0x7f),
        field,
        "may contain only printable ASCII");
    return value;
  }

  private static boolean isDnsName(String host) {
    return InternetDomainName.isValid(host) && !host.endsWith(".");
  }
}
