package io.signalbox.spring;

import io.signalbox.client.AuthSpec;
import io.signalbox.client.RateLimitSpec;
import io.signalbox.client.RouteSpec;
import io.signalbox.client.Routes;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * How this application registers with Signalbox: the {@code signalbox.*} keys of its configuration,
 * bound once at startup. Mistakes a control plane would refuse anyway but that can be seen here (no
 * target, half a TLS configuration, a route with two paths) fail startup naming the key.
 *
 * @param enabled whether the application registers at all; false turns the starter off
 * @param target the control plane's registry API, host:port (e.g. signalbox.internal:18000)
 * @param plaintext connect without TLS, to a control plane run with --insecure-plaintext
 *     (development only: logged as a warning)
 * @param tls the application's certificate, key and trusted CA for mutual TLS
 * @param service the service name; default spring.application.name
 * @param instanceId this instance's id; default service-host-port of the advertised address
 * @param advertisedHost the address Envoy sends requests to; default server.address when it is a
 *     specific address, else the first non-loopback IPv4 address of an interface that is up
 * @param advertisedPort the port Envoy sends requests to; default the web server's actual port
 * @param leaseTtl the lease TTL to ask for; default the control plane's (10 s)
 * @param zone the instance's locality zone
 * @param weight load-balancing weight, 1-128; default the control plane's (1)
 * @param metadata key-value pairs registered with the instance
 * @param routes the routes to serve this service under
 * @param deriveRoutesFromHandlers without routes: one route per path of the Spring MVC handlers
 * @param auth a JWT requirement for every route that sets none and is not public
 * @param rateLimit a rate limit for every route that sets none
 * @param failFast fail startup when the registration fails, instead of retrying in the background
 * @param registrationTimeout how long one registration attempt waits for an unreachable control
 *     plane
 * @param drainDelay how long the application keeps serving after deregistering, before its web
 *     server stops, so that every Envoy has stopped sending it requests
 * @param health reporting the Actuator health as the instance's serving status
 * @param mesh sidecar mode: the instance's sidecar, who may call it and whom it calls
 */
@ConfigurationProperties("signalbox")
public record SignalboxProperties(
    @DefaultValue("true") boolean enabled,
    String target,
    boolean plaintext,
    @DefaultValue Tls tls,
    String service,
    String instanceId,
    String advertisedHost,
    Integer advertisedPort,
    Duration leaseTtl,
    String zone,
    Integer weight,
    Map<String, String> metadata,
    List<Route> routes,
    boolean deriveRoutesFromHandlers,
    Auth auth,
    RateLimit rateLimit,
    boolean failFast,
    @DefaultValue("30s") Duration registrationTimeout,
    @DefaultValue("1s") Duration drainDelay,
    @DefaultValue Health health,
    @DefaultValue Mesh mesh) {

  public SignalboxProperties {
    metadata = metadata == null ? Map.of() : ordered(metadata);
    routes = routes == null ? List.of() : List.copyOf(routes);
    if (enabled) {
      require(
          target != null && !target.isBlank(),
          "signalbox.target",
          "is required: host:port of the"
              + " Signalbox control plane (or signalbox.enabled=false to register nowhere)");
      require(
          plaintext != tls.isComplete(),
          plaintext ? "signalbox.plaintext" : "signalbox.tls",
          plaintext
              ? "is true, but tls.* is set as well: choose one"
              : "needs certificate, private-key and ca (mutual TLS), or set"
                  + " signalbox.plaintext=true for a control plane run with --insecure-plaintext");
      require(
          advertisedPort == null || (advertisedPort >= 1 && advertisedPort <= 65535),
          "signalbox.advertised-port",
          "must be in 1-65535");
      require(
          weight == null || (weight >= 1 && weight <= 128), "signalbox.weight", "must be in 1-128");
      require(leaseTtl == null || isPositive(leaseTtl), "signalbox.lease-ttl", "must be positive");
      require(
          isPositive(registrationTimeout), "signalbox.registration-timeout", "must be positive");
      require(!drainDelay.isNegative(), "signalbox.drain-delay", "must not be negative");
      require(
          mesh.sidecarPort() == null || advertisedPort == null,
          "signalbox.mesh.sidecar-port",
          "is the port Envoy sends requests to, as signalbox.advertised-port is: set one of them");
    }
  }

  /**
   * The PEM files of mutual TLS, as {@code signalbox ca issue} writes them; re-read when they are
   * replaced.
   *
   * @param certificate the application's certificate chain (its identity, e.g. URI SAN
   *     spiffe://signalbox.local/service/orders)
   * @param privateKey the certificate's private key
   * @param ca the CA bundle the control plane's certificate must chain to
   */
  public record Tls(String certificate, String privateKey, String ca) {

    public Tls {
      long given = Stream.of(certificate, privateKey, ca).filter(Tls::isSet).count();
      require(
          given == 0 || given == 3,
          "signalbox.tls",
          "needs all of certificate, private-key and ca, or none of them");
    }

    boolean isComplete() {
      return isSet(certificate);
    }

    private static boolean isSet(String path) {
      return path != null && !path.isBlank();
    }
  }

  /**
   * Sidecar mode (see the control plane's README): the instance is reached through its sidecar
   * Envoy, which forwards to the application on 127.0.0.1 at the web server's port.
   *
   * @param sidecarPort the sidecar's inbound port, registered as the instance's port; unset, the
   *     instance has no sidecar
   * @param allowedCallers service names or SPIFFE IDs that may call this service through the
   *     sidecars; none: every workload of the mesh
   * @param calls the services this one calls; once any is named, its sidecars are sent only those
   */
  public record Mesh(Integer sidecarPort, List<String> allowedCallers, List<String> calls) {

    public Mesh {
      allowedCallers = allowedCallers == null ? List.of() : List.copyOf(allowedCallers);
      calls = calls == null ? List.of() : List.copyOf(calls);
      require(
          sidecarPort == null || (sidecarPort >= 1 && sidecarPort <= 65535),
          "signalbox.mesh.sidecar-port",
          "must be in 1-65535");
    }
  }

  /**
   * @param enabled report the Actuator health (when Actuator is there): UP serves, anything else
   *     takes the instance out of rotation without deregistering it
   * @param interval how often the health is read
   */
  public record Health(
      @DefaultValue("true") boolean enabled, @DefaultValue("5s") Duration interval) {

    public Health {
      require(isPositive(interval), "signalbox.health.interval", "must be positive");
    }
  }

  /**
   * One route: exactly one of prefix, exact and regex.
   *
   * @param prefix paths starting with this on a segment boundary
   * @param exact exactly this path
   * @param regex paths matching the whole of this RE2 expression
   * @param hosts virtual hosts (":authority" without port); none means all
   * @param methods HTTP methods; none means any
   * @param prefixRewrite replaces the matched prefix before forwarding
   * @param timeout upstream response timeout; 0 disables it
   * @param publicRoute served without authentication, even when the service requires it
   * @param auth a JWT requirement for this route (replaces the service's)
   * @param rateLimit a rate limit for this route (replaces the service's)
   */
  public record Route(
      String prefix,
      String exact,
      String regex,
      List<String> hosts,
      List<String> methods,
      String prefixRewrite,
      Duration timeout,
      boolean publicRoute,
      Auth auth,
      RateLimit rateLimit) {

    public Route {
      hosts = hosts == null ? List.of() : List.copyOf(hosts);
      methods = methods == null ? List.of() : List.copyOf(methods);
      require(
          Stream.of(prefix, exact, regex).filter(p -> p != null).count() == 1,
          "route",
          "needs exactly one of prefix, exact and regex");
      require(prefixRewrite == null || prefix != null, "prefix-rewrite", "needs a prefix route");
      require(!(publicRoute && auth != null), "public-route", "and auth exclude each other");
    }

    RouteSpec toSpec() {
      RouteSpec spec =
          prefix != null
              ? Routes.prefix(prefix)
              : exact != null ? Routes.exact(exact) : Routes.regex(regex);
      spec = spec.hosts(hosts.toArray(String[]::new)).methods(methods.toArray(String[]::new));
      if (prefixRewrite != null) {
        spec = spec.prefixRewrite(prefixRewrite);
      }
      if (timeout != null) {
        spec = spec.timeout(timeout);
      }
      if (publicRoute) {
        spec = spec.publicRoute();
      }
      if (auth != null) {
        spec = spec.auth(auth.toSpec());
      }
      if (rateLimit != null) {
        spec = spec.rateLimit(rateLimit.toSpec());
      }
      return spec;
    }
  }

  /**
   * A JWT requirement; the provider is declared by the operator in the gateway settings.
   *
   * @param provider the JWT provider's name in the gateway settings
   * @param requiredScopes the token's "scope" claim must contain all of these
   * @param requiredClaims claim name to accepted values; nested claims as "[a.b]"
   * @param forwardClaims claim name to the request header it is copied into
   */
  public record Auth(
      String provider,
      List<String> requiredScopes,
      Map<String, List<String>> requiredClaims,
      Map<String, String> forwardClaims) {

    public Auth {
      require(provider != null && !provider.isBlank(), "auth.provider", "is required");
      requiredScopes = requiredScopes == null ? List.of() : List.copyOf(requiredScopes);
      requiredClaims = requiredClaims == null ? Map.of() : ordered(requiredClaims);
      forwardClaims = forwardClaims == null ? Map.of() : ordered(forwardClaims);
    }

    AuthSpec toSpec() {
      AuthSpec spec = AuthSpec.jwt(provider).requireScopes(requiredScopes.toArray(String[]::new));
      for (Map.Entry<String, List<String>> claim : requiredClaims.entrySet()) {
        spec = spec.requireClaim(claim.getKey(), claim.getValue().toArray(String[]::new));
      }
      for (Map.Entry<String, String> claim : forwardClaims.entrySet()) {
        spec = spec.forwardClaim(claim.getKey(), claim.getValue());
      }
      return spec;
    }
  }

  /**
   * A request rate limit; over it the gateway answers 429.
   *
   * @param requests requests allowed per unit, at least 1
   * @param unit second, minute or hour
   * @param global counted across all Envoys together (default: per Envoy)
   * @param perClientIp counted separately for each client IP address
   * @param perHeader counted separately for each value of this request header
   * @param failureMode a global limit's answer while the rate-limit service cannot be asked: allow
   *     or deny; default the operator's
   */
  public record RateLimit(
      int requests,
      Unit unit,
      boolean global,
      boolean perClientIp,
      String perHeader,
      FailureMode failureMode) {

    public enum Unit {
      SECOND,
      MINUTE,
      HOUR
    }

    public enum FailureMode {
      ALLOW,
      DENY
    }

    public RateLimit {
      require(requests >= 1, "rate-limit.requests", "must be at least 1");
      require(unit != null, "rate-limit.unit", "is required: second, minute or hour");
      require(
          !(perClientIp && perHeader != null),
          "rate-limit.per-client-ip",
          "and per-header exclude each other");
    }

    RateLimitSpec toSpec() {
      RateLimitSpec spec =
          switch (unit) {
            case SECOND -> RateLimitSpec.perSecond(requests);
            case MINUTE -> RateLimitSpec.perMinute(requests);
            case HOUR -> RateLimitSpec.perHour(requests);
          };
      if (global) {
        spec = spec.global();
      }
      if (perClientIp) {
        spec = spec.perClientIp();
      }
      if (perHeader != null) {
        spec = spec.perHeader(perHeader);
      }
      if (failureMode == FailureMode.ALLOW) {
        spec = spec.failOpen();
      } else if (failureMode == FailureMode.DENY) {
        spec = spec.failClosed();
      }
      return spec;
    }
  }

  /** An unmodifiable copy in the configuration's order (Map.copyOf would lose it). */
  private static <K, V> Map<K, V> ordered(Map<K, V> map) {
    return Collections.unmodifiableMap(new LinkedHashMap<>(map));
  }

  private static boolean isPositive(Duration duration) {
    return !duration.isNegative() && !duration.isZero();
  }

  private static void require(boolean condition, String key, String problem) {
    if (!condition) {
      throw new IllegalArgumentException(key + " " + problem);
    }
  }
}
