package io.signalbox.model;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * How Envoy spreads a service's requests over its instances and protects them: load balancing (with
 * a hash key for session affinity), circuit breakers and outlier detection, and how it connects to
 * them (TLS).
 *
 * @param hashOn what the hashing balancers hash; present exactly when {@code loadBalancer} hashes
 * @param tls TLS to the instances; empty for plaintext
 * @param preferLocalZone whether an Envoy that declares a zone prefers the instances of that zone
 */
public record TrafficPolicy(
    LoadBalancer loadBalancer,
    Optional<HashOn> hashOn,
    Optional<CircuitBreaker> circuitBreaker,
    Optional<OutlierDetection> outlierDetection,
    Optional<VersionSplit> versions,
    Optional<HealthCheck> healthCheck,
    Optional<UpstreamTls> tls,
    boolean preferLocalZone) {

  /**
   * Round robin, Envoy's default circuit breakers, no outlier detection, no version split,
   * plaintext.
   */
  public static final TrafficPolicy DEFAULT =
      new TrafficPolicy(
          LoadBalancer.ROUND_ROBIN,
          Optional.empty(),
          Optional.empty(),
          Optional.empty(),
          Optional.empty(),
          Optional.empty(),
          Optional.empty(),
          false);

  public TrafficPolicy {
    Objects.requireNonNull(loadBalancer, "loadBalancer");
    Objects.requireNonNull(hashOn, "hashOn");
    Objects.requireNonNull(circuitBreaker, "circuitBreaker");
    Objects.requireNonNull(outlierDetection, "outlierDetection");
    Objects.requireNonNull(versions, "versions");
    Objects.requireNonNull(healthCheck, "healthCheck");
    Objects.requireNonNull(tls, "tls");
    if (loadBalancer.hashing() != hashOn.isPresent()) {
      throw new IllegalArgumentException(
          "a hash key goes with RING_HASH and MAGLEV, and only with them: " + loadBalancer);
    }
  }

  /** This policy with other TLS to the instances. */
  public TrafficPolicy withTls(Optional<UpstreamTls> upstreamTls) {
    return new TrafficPolicy(
        loadBalancer,
        hashOn,
        circuitBreaker,
        outlierDetection,
        versions,
        healthCheck,
        upstreamTls,
        preferLocalZone);
  }

  public enum LoadBalancer {
    ROUND_ROBIN,
    LEAST_REQUEST,
    RING_HASH,
    MAGLEV;

    public boolean hashing() {
      return this == RING_HASH || this == MAGLEV;
    }
  }

  /** A request's hash key: a header, a cookie (by name) or the client's address. */
  public record HashOn(Kind kind, String name) {
    public enum Kind {
      HEADER,
      COOKIE,
      SOURCE_IP
    }

    public HashOn {
      Objects.requireNonNull(kind, "kind");
      Objects.requireNonNull(name, "name");
    }
  }

  /** Per-Envoy limits; 0 keeps Envoy's default for that one. */
  public record CircuitBreaker(
      int maxConnections, int maxPendingRequests, int maxRequests, int maxRetries) {}

  /**
   * Requests spread over versions (instance metadata {@value #VERSION_KEY}) by weight; pinned ones
   * (a header with a value) to one version.
   */
  public record VersionSplit(List<VersionWeight> weights, List<VersionPin> pins) {
    public VersionSplit {
      weights = List.copyOf(weights);
      pins = List.copyOf(pins);
    }
  }

  /** The instance metadata key that names an instance's version. */
  public static final String VERSION_KEY = "version";

  public record VersionWeight(String version, int weight) {}

  /**
   * Requests that carry {@code value} in a header, or in a cookie, of the given name go to {@code
   * version}.
   */
  public record VersionPin(PinOn on, String name, String value, String version) {
    public enum PinOn {
      HEADER,
      COOKIE
    }

    public VersionPin {
      Objects.requireNonNull(on, "on");
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(value, "value");
      Objects.requireNonNull(version, "version");
    }

    /** A pin on a header's exact value. */
    public static VersionPin header(String header, String value, String version) {
      return new VersionPin(PinOn.HEADER, header, value, version);
    }

    /**
     * The RE2 regular expression over the Cookie header that a pin on a cookie is matched by: the
     * cookie among the header's pairs, with exactly this value. The translator renders it and the
     * validator prices it, so both see the same pattern.
     */
    public String cookieRegex() {
      return "(.*;\\s*)?" + escapeRegex(name) + "=" + escapeRegex(value) + "(;.*)?";
    }

    /**
     * Every character but letters, digits and underscore escaped with a backslash, as RE2 allows.
     */
    private static String escapeRegex(String literal) {
      StringBuilder escaped = new StringBuilder();
      for (char c : literal.toCharArray()) {
        if (!Character.isLetterOrDigit(c) && c != '_') {
          escaped.append('\\');
        }
        escaped.append(c);
      }
      return escaped.toString();
    }
  }

  /**
   * Active health checking of every instance: an HTTP GET of {@code target} (a path), or the gRPC
   * health service's Check for {@code target} (a service name, "" for the server).
   */
  public record HealthCheck(
      Kind kind,
      String target,
      Duration interval,
      Duration timeout,
      int unhealthyThreshold,
      int healthyThreshold) {
    public enum Kind {
      HTTP,
      GRPC
    }

    public HealthCheck {
      Objects.requireNonNull(kind, "kind");
      Objects.requireNonNull(target, "target");
      Objects.requireNonNull(interval, "interval");
      Objects.requireNonNull(timeout, "timeout");
    }
  }

  /**
   * @param consecutiveGatewayErrors gateway errors in a row that eject an instance, counted apart
   *     from {@code consecutive5xx}; 0 for not counted apart
   */
  public record OutlierDetection(
      int consecutive5xx,
      Duration interval,
      Duration baseEjectionTime,
      int maxEjectionPercent,
      int consecutiveGatewayErrors) {
    public OutlierDetection {
      Objects.requireNonNull(interval, "interval");
      Objects.requireNonNull(baseEjectionTime, "baseEjectionTime");
    }
  }

  /**
   * TLS from Envoy to every instance, always verified: the instance's certificate must chain to
   * {@code caPem} and carry one of {@code subjectAltNames} (or {@code sni} as a DNS name when that
   * is empty).
   *
   * @param sni the server name Envoy sends
   * @param caPem the trusted certificate authorities, PEM
   * @param subjectAltNames DNS names or URIs (SPIFFE IDs), any of which the certificate must carry
   * @param clientCertificate the operator's client certificate Envoy presents (mutual TLS), by name
   */
  public record UpstreamTls(
      String sni, String caPem, List<String> subjectAltNames, Optional<String> clientCertificate) {
    public UpstreamTls {
      Objects.requireNonNull(sni, "sni");
      Objects.requireNonNull(caPem, "caPem");
      subjectAltNames = List.copyOf(subjectAltNames);
      Objects.requireNonNull(clientCertificate, "clientCertificate");
    }

    /** The names a certificate is checked against: the SANs given, else the SNI. */
    public List<String> verifiedNames() {
      return subjectAltNames.isEmpty() ? List.of(sni) : subjectAltNames;
    }
  }
}
