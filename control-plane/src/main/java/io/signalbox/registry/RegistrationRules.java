package io.signalbox.registry;

import java.util.Set;

/**
 * What the operator's gateway settings allow a registration, as the validator needs it (the
 * registry does not depend on the settings model).
 */
public interface RegistrationRules {

  /** No JWT providers, the API's route limit. */
  RegistrationRules DEFAULT = of(Set.of(), RegistrationValidator.MAX_ROUTES);

  /**
   * Fixed rules, for tests and tools; a running control plane reads its current settings instead.
   */
  static RegistrationRules of(Set<String> jwtProviders, int maxRoutesPerService) {
    Set<String> providers = Set.copyOf(jwtProviders);
    return new RegistrationRules() {
      @Override
      public Set<String> jwtProviders() {
        return providers;
      }

      @Override
      public int maxRoutesPerService() {
        return maxRoutesPerService;
      }

      @Override
      public int maxRegexProgramSize() {
        return DEFAULT_MAX_REGEX_PROGRAM_SIZE;
      }

      @Override
      public UpstreamAddressPolicy upstreams() {
        return UpstreamAddressPolicy.DEFAULT;
      }
    };
  }

  /** Retries a route may ask for at most, whatever the operator allows. */
  int MAX_RETRIES = 10;

  /**
   * A caller allowed to call a service through its sidecars, by SPIFFE ID: a trust domain and a
   * path of segments of the characters SPIFFE allows (the other kind is a service name).
   */
  java.util.regex.Pattern SPIFFE_ID =
      java.util.regex.Pattern.compile("spiffe://[a-z0-9._-]{1,255}(/[A-Za-z0-9._-]{1,255}){1,16}");

  /**
   * Callers a service may be allowed at most, by its registration or by the operator: each is a
   * principal of the RBAC policy every request to the service is checked against.
   */
  int MAX_ALLOWED_CALLERS = 32;

  /**
   * Whether {@code caller} names a caller a service may allow: a service name as registrations use
   * them, or a SPIFFE ID.
   */
  static boolean isCaller(String caller) {
    return io.signalbox.model.Names.SERVICE.matcher(caller).matches()
        || SPIFFE_ID.matcher(caller).matches();
  }

  /** A DNS name as a Host header or SNI carries it: lower case, no wildcard, no trailing dot. */
  static boolean isLowerCaseDnsName(String name) {
    return name.length() <= 253
        && name.equals(name.toLowerCase(java.util.Locale.ROOT))
        && !name.contains("*")
        && !name.endsWith(".")
        && com.google.common.net.InternetDomainName.isValid(name);
  }

  /** Retries a route may ask for unless the operator says otherwise ({@code limits.maxRetries}). */
  int DEFAULT_MAX_RETRIES = 5;

  /** A route's timeout (and a try's) may be at most this long, whatever the operator allows. */
  java.time.Duration MAX_ROUTE_TIMEOUT = java.time.Duration.ofHours(1);

  /** Retries one route may ask for ({@code limits.maxRetries}). */
  default int maxRetries() {
    return DEFAULT_MAX_RETRIES;
  }

  /**
   * The longest timeout a route or one of its tries may ask for ({@code limits.maxRouteTimeout}).
   */
  default java.time.Duration maxRouteTimeout() {
    return MAX_ROUTE_TIMEOUT;
  }

  /** Envoy's default limit on a regex's RE2 program ({@code re2.max_program_size.error_level}). */
  int DEFAULT_MAX_REGEX_PROGRAM_SIZE = 100;

  /** Names of the JWT providers a route's auth policy may name. */
  Set<String> jwtProviders();

  /** Routes one registration may declare, at most {@link RegistrationValidator#MAX_ROUTES}. */
  int maxRoutesPerService();

  /**
   * The largest RE2 program (estimated by {@link RegexProgramSize}) a path or header regex, or the
   * regex that finds a cookie pin's cookie, may compile to.
   */
  int maxRegexProgramSize();

  /**
   * Names of the client certificates the operator configured for TLS to instances ({@code
   * upstreams.clientCertificates}) and granted to {@code service}, which a registration of it may
   * name in {@code traffic.tls}.
   */
  default Set<String> upstreamClientCertificatesFor(String service) {
    return Set.of();
  }

  /** Where instances may point. */
  UpstreamAddressPolicy upstreams();
}
