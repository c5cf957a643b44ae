package io.signalbox.model;

import java.util.Comparator;
import java.util.Objects;

/** How a route matches the request path. */
public record PathMatch(Kind kind, String value) implements Comparable<PathMatch> {

  /** Declared in the order Envoy should try them: the most specific first. */
  public enum Kind { EXACT, REGEX, PREFIX }

  /**
   * Exact before regex before prefix, longer prefix first. Envoy takes the first route that matches, so this order
   * makes the most specific route win regardless of the order services registered in.
   */
  private static final Comparator<PathMatch> SPECIFICITY = Comparator
      .comparing(PathMatch::kind)
      .thenComparing(m -> -m.value().length())
      .thenComparing(PathMatch::value);

  public PathMatch {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(value, "value");
  }

  public static PathMatch prefix(String prefix) {
    return new PathMatch(Kind.PREFIX, prefix);
  }

  public static PathMatch exact(String path) {
    return new PathMatch(Kind.EXACT, path);
  }

  public static PathMatch regex(String regex) {
    return new PathMatch(Kind.REGEX, regex);
  }

  @Override
  public int compareTo(PathMatch other) {
    return SPECIFICITY.compare(this, other);
  }

  @Override
  public String toString() {
    return kind.name().toLowerCase(java.util.Locale.ROOT) + " " + value;
  }
}
