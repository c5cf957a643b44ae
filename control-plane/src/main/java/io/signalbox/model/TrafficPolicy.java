package io.signalbox.model;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * How Envoy spreads a service's requests over its instances and protects them: load balancing (with
 * a hash key for session affinity), circuit breakers and outlier detection.
 *
 * @param hashOn what the hashing balancers hash; present exactly when {@code loadBalancer} hashes
 */
public record TrafficPolicy(
    LoadBalancer loadBalancer,
    Optional<HashOn> hashOn,
    Optional<CircuitBreaker> circuitBreaker,
    Optional<OutlierDetection> outlierDetection,
    Optional<VersionSplit> versions,
    Optional<HealthCheck> healthCheck) {

  /** Round robin, Envoy's default circuit breakers, no outlier detection, no version split. */
  public static final TrafficPolicy DEFAULT =
      new TrafficPolicy(
          LoadBalancer.ROUND_ROBIN,
          Optional.empty(),
          Optional.empty(),
          Optional.empty(),
          Optional.empty(),
          Optional.empty());

  public TrafficPolicy {
    Objects.requireNonNull(loadBalancer, "loadBalancer");
    Objects.requireNonNull(hashOn, "hashOn");
    Objects.requireNonNull(circuitBreaker, "circuitBreaker");
    Objects.requireNonNull(outlierDetection, "outlierDetection");
    Objects.requireNonNull(versions, "versions");
    Objects.requireNonNull(healthCheck, "healthCheck");
    if (loadBalancer.hashing() != hashOn.isPresent()) {
      throw new IllegalArgumentException(
          "a hash key goes with RING_HASH and MAGLEV, and only with them: " + loadBalancer);
    }
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

  public record VersionPin(String header, String value, String version) {}

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

  public record OutlierDetection(
      int consecutive5xx, Duration interval, Duration baseEjectionTime, int maxEjectionPercent) {
    public OutlierDetection {
      Objects.requireNonNull(interval, "interval");
      Objects.requireNonNull(baseEjectionTime, "baseEjectionTime");
    }
  }
}
