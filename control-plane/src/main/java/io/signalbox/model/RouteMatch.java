package io.signalbox.model;

import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;

/**
 * Everything that decides whether a request takes a route: path, headers and methods. Two services
 * may not own routes with the same match on the same host.
 *
 * <p>Headers and methods are kept sorted so that equal matches are equal records.
 */
public record RouteMatch(PathMatch path, List<HeaderMatch> headers, List<String> methods)
    implements Comparable<RouteMatch> {

  /**
   * Path specificity first; at equal paths, the route with more conditions is more specific and
   * goes first, so a header-qualified route (a canary, say) is not shadowed by its unqualified
   * sibling.
   */
  private static final Comparator<RouteMatch> SPECIFICITY =
      Comparator.comparing(RouteMatch::path)
          .thenComparing(m -> -(m.headers().size() + (m.methods().isEmpty() ? 0 : 1)))
          .thenComparing(RouteMatch::headers, RouteMatch::compareLists)
          .thenComparing(RouteMatch::methods, RouteMatch::compareLists);

  public RouteMatch {
    Objects.requireNonNull(path, "path");
    headers = headers == null ? List.of() : headers.stream().sorted().toList();
    methods = methods == null ? List.of() : methods.stream().sorted().distinct().toList();
  }

  @Override
  public int compareTo(RouteMatch other) {
    return SPECIFICITY.compare(this, other);
  }

  @Override
  public String toString() {
    StringBuilder text = new StringBuilder(path.toString());
    if (!methods.isEmpty()) {
      text.append(" methods=").append(String.join(",", methods));
    }
    for (HeaderMatch header : headers) {
      text.append(" header ")
          .append(header.name())
          .append(' ')
          .append(header.kind().name().toLowerCase(java.util.Locale.ROOT));
      if (!header.value().isEmpty()) {
        text.append(' ').append(header.value());
      }
      if (header.invert()) {
        text.append(" (inverted)");
      }
    }
    return text.toString();
  }

  private static <T extends Comparable<T>> int compareLists(List<T> a, List<T> b) {
    Iterator<T> left = a.iterator();
    Iterator<T> right = b.iterator();
    while (left.hasNext() && right.hasNext()) {
      int result = left.next().compareTo(right.next());
      if (result != 0) {
        return result;
      }
    }
    return Boolean.compare(left.hasNext(), right.hasNext());
  }
}
