package io.signalbox.model;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * At most {@code requests} requests per {@code unit} on a route.
 *
 * @param scope whether each Envoy counts alone or the whole fleet shares one count
 * @param perClientIp count separately per client address
 * @param perHeader count separately per value of this request header
 * @param failureMode for {@link Scope#GLOBAL}: what happens when the rate-limit service cannot
 *     answer; empty means the gateway settings' default
 */
public record RateLimit(
    int requests,
    Unit unit,
    Scope scope,
    boolean perClientIp,
    Optional<String> perHeader,
    Optional<FailureMode> failureMode) {

  public RateLimit {
    if (requests < 1) {
      throw new IllegalArgumentException("requests must be at least 1, was " + requests);
    }
    Objects.requireNonNull(unit, "unit");
    Objects.requireNonNull(scope, "scope");
    perHeader = perHeader == null ? Optional.empty() : perHeader;
    failureMode = failureMode == null ? Optional.empty() : failureMode;
    if (perClientIp && perHeader.isPresent()) {
      throw new IllegalArgumentException("a limit counts per client IP or per header, not both");
    }
  }

  public static RateLimit local(int requests, Unit unit) {
    return new RateLimit(requests, unit, Scope.LOCAL, false, Optional.empty(), Optional.empty());
  }

  public static RateLimit global(int requests, Unit unit) {
    return new RateLimit(requests, unit, Scope.GLOBAL, false, Optional.empty(), Optional.empty());
  }

  public RateLimit withPerClientIp() {
    return new RateLimit(requests, unit, scope, true, Optional.empty(), failureMode);
  }

  public RateLimit withPerHeader(String header) {
    return new RateLimit(requests, unit, scope, false, Optional.of(header), failureMode);
  }

  public RateLimit withFailureMode(FailureMode mode) {
    return new RateLimit(requests, unit, scope, perClientIp, perHeader, Optional.of(mode));
  }

  /**
   * Whether this limit can count the requests of a route that does {@code action}: a global limit
   * sits on the forwarding action (Envoy asks the rate-limit service per upstream route), which a
   * route that answers by itself (redirect, direct response) does not have.
   */
  public boolean countsOn(RouteAction action) {
    return scope == Scope.LOCAL || action instanceof RouteAction.Forward;
  }

  /** The window a limit counts in. */
  public enum Unit {
    SECOND(Duration.ofSeconds(1)),
    MINUTE(Duration.ofMinutes(1)),
    HOUR(Duration.ofHours(1));

    private final Duration length;

    Unit(Duration length) {
      this.length = length;
    }

    public Duration length() {
      return length;
    }
  }

  public enum Scope {
    /** Each Envoy enforces the limit on its own. */
    LOCAL,
    /** All Envoys share one count, kept by Signalbox's rate-limit service. */
    GLOBAL
  }

  /** What a {@link Scope#GLOBAL} limit does when the rate-limit service cannot be asked. */
  public enum FailureMode {
    ALLOW,
    DENY
  }
}
