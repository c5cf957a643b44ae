package io.signalbox.model;

import java.util.Comparator;
import java.util.Objects;

/** A condition on one request header. {@code value} is empty for PRESENT and ABSENT. */
public record HeaderMatch(String name, Kind kind, String value, boolean invert)
    implements Comparable<HeaderMatch> {

  public enum Kind {
    EXACT,
    PREFIX,
    REGEX,
    PRESENT,
    ABSENT
  }

  private static final Comparator<HeaderMatch> ORDER =
      Comparator.comparing(HeaderMatch::name)
          .thenComparing(HeaderMatch::kind)
          .thenComparing(HeaderMatch::value)
          .thenComparing(HeaderMatch::invert);

  public HeaderMatch {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(kind, "kind");
    value = value == null ? "" : value;
  }

  public static HeaderMatch exact(String name, String value) {
    return new HeaderMatch(name, Kind.EXACT, value, false);
  }

  @Override
  public int compareTo(HeaderMatch other) {
    return ORDER.compare(this, other);
  }
}
