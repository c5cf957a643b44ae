package io.signalbox.model;

import java.util.Comparator;
import java.util.Objects;

/** How a route matches the request path. */
public record PathMatch(Kind kind, String value) implements Comparable<PathMatch> {

  /** Declared in the order Envoy should try them: the most specific first. */
  public enum Kind {
    EXACT,
    REGEX,
    PREFIX
  }

  /**
   * Exact before regex before prefix, longer prefix first. Envoy takes the first route that
   * matches, so this order makes the most specific route win regardless of the order services
   * registered in.
   */
  private static final Comparator<PathMatch> SPECIFICITY =
      Comparator.comparing(PathMatch::kind)
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

  /**
   * What every path this match accepts begins with: the path of an exact match, the prefix of a
   * prefix match, and for a regex its literal beginning up to the first character with a meaning in
   * RE2 (empty for a regex with a top-level alternative, whose branches need not share a
   * beginning). Envoy matches a regex against the whole path.
   */
  public String guaranteedPrefix() {
    if (kind != Kind.REGEX) {
      return value;
    }
    String regex = value.startsWith("^") ? value.substring(1) : value;
    if (hasTopLevelAlternative(regex)) {
      return "";
    }
    int end = 0;
    while (end < regex.length() && REGEX_SYNTAX.indexOf(regex.charAt(end)) < 0) {
      end++;
    }
    // A quantifier that allows zero repetitions makes the last literal character optional.
    if (end < regex.length() && end > 0 && "*?{".indexOf(regex.charAt(end)) >= 0) {
      end--;
    }
    return regex.substring(0, end);
  }

  /**
   * Whether every path this match accepts lies under {@code prefix}, segment-aware as the gateway's
   * prefix routes are: {@code /users} holds {@code /users} and {@code /users/1}, not {@code
   * /usersx}.
   */
  public boolean within(String prefix) {
    if (prefix.equals("/")) {
      return guaranteedPrefix().startsWith("/");
    }
    String base = prefix.endsWith("/") ? prefix : prefix + "/";
    String begins = guaranteedPrefix();
    return begins.startsWith(base) || kind != Kind.REGEX && begins.equals(prefix);
  }

  private static final String REGEX_SYNTAX = "\\.+*?()|[]{}^$";

  private static boolean hasTopLevelAlternative(String regex) {
    int depth = 0;
    boolean inClass = false;
    for (int i = 0; i < regex.length(); i++) {
      char c = regex.charAt(i);
      if (c == '\\') {
        i++;
      } else if (inClass) {
        inClass = c != ']';
      } else if (c == '[') {
        inClass = true;
      } else if (c == '(') {
        depth++;
      } else if (c == ')') {
        depth--;
      } else if (c == '|' && depth == 0) {
        return true;
      }
    }
    return false;
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
