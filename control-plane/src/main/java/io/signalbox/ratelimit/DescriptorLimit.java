package io.signalbox.ratelimit;

import io.signalbox.model.RateLimit;
import java.util.Objects;
import java.util.Optional;

/**
 * A limit as it travels in a rate-limit descriptor entry, {@code REQUESTS/UNIT} such as {@code
 * 10/MINUTE}: the translator writes it, the rate-limit service reads it.
 */
public record DescriptorLimit(long requests, RateLimit.Unit unit) {

  /** Descriptor domain of Signalbox's global rate limits. */
  public static final String DOMAIN = "signalbox";

  /**
   * Descriptor entry carrying the limit itself, e.g. {@code 10/MINUTE}, so Envoy and the service
   * cannot disagree.
   */
  public static final String LIMIT_KEY = "signalbox_limit";

  public DescriptorLimit {
    if (requests < 1) {
      throw new IllegalArgumentException("requests must be at least 1, was " + requests);
    }
    Objects.requireNonNull(unit, "unit");
  }

  public static DescriptorLimit of(RateLimit limit) {
    return new DescriptorLimit(limit.requests(), limit.unit());
  }

  /** Empty for anything this service did not write, which it then does not limit. */
  public static Optional<DescriptorLimit> parse(String value) {
    int slash = value.indexOf('/');
    if (slash < 1 || slash > 10) {
      return Optional.empty();
    }
    long requests = 0;
    for (int i = 0; i < slash; i++) {
      char c = value.charAt(i);
      if (c < '0' || c > '9') {
        return Optional.empty();
      }
      requests = requests * 10 + (c - '0');
    }
    if (requests < 1) {
      return Optional.empty();
    }
    RateLimit.Unit unit =
        switch (value.substring(slash + 1)) {
          case "SECOND" -> RateLimit.Unit.SECOND;
          case "MINUTE" -> RateLimit.Unit.MINUTE;
          case "HOUR" -> RateLimit.Unit.HOUR;
          default -> null;
        };
    return unit == null ? Optional.empty() : Optional.of(new DescriptorLimit(requests, unit));
  }

  /** The descriptor entry value. */
  public String encode() {
    return requests + "/" + unit.name();
  }

  @Override
  public String toString() {
    return encode();
  }
}
