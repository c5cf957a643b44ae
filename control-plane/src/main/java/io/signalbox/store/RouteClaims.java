package io.signalbox.store;

import com.google.re2j.Pattern;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RouteSpec;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The routes each service holds, and whether a new route would take requests that reach another
 * service's route.
 *
 * <p>Envoy picks a virtual host by the request's host, then the first route in it that matches. The
 * gateway orders routes exact → regex → longest prefix → more conditions → host-specific, and
 * places any-host and wildcard-host routes in every virtual host they cover. So a new route on an
 * overlapping host captures requests of an existing route when it has the same path (whatever its
 * headers or methods: a refined copy is tried first), when it is an exact path the existing prefix
 * or regex accepts, when it is a regex whose literal beginning overlaps the existing prefix or
 * regex, or when it is a prefix inside the existing prefix. A route less specific than an existing
 * one captures nothing and is allowed. The first owner keeps a route; the operator can delegate a
 * sub-path of another service's prefix by granting it ({@link Registration#delegatedPrefixes()}).
 */
final class RouteClaims {

  /**
   * @param order when it was claimed, among this table's claims: of several routes a new one would
   *     capture, the first claimed is named
   */
  private record Claim(String service, String host, RouteSpec route, long order) {}

  private long claimed;

  /**
   * Claims by the literal beginning of their path ({@link PathMatch#guaranteedPrefix()}). Every
   * capture relation holds between paths whose beginnings are prefixes of one another, so a new
   * route is compared with the claims under its beginning's prefixes and, for a regex, under its
   * beginning: not with the whole registry.
   */
  private final TreeMap<String, ClaimsByHost> claimsByBeginning = new TreeMap<>();

  private final Map<String, List<Claim>> claimsByService = new HashMap<>();

  /**
   * The claims at one path beginning, by host. Services told apart by host all claim the path
   * {@code /}: a new route is compared only with the claims on hosts that overlap its own (the same
   * host, {@code *}, a wildcard covering it, or for a wildcard, the hosts below it), not with every
   * service's.
   */
  private static final class ClaimsByHost {

    /**
     * By host reversed ({@code moc.elpmaxe.*} for {@code *.example.com}): the hosts below a
     * wildcard follow one another.
     */
    private final TreeMap<String, List<Claim>> byReversedHost = new TreeMap<>();

    void add(Claim claim) {
      byReversedHost.computeIfAbsent(reversed(claim.host()), h -> new ArrayList<>()).add(claim);
    }

    void remove(Claim claim) {
      String key = reversed(claim.host());
      List<Claim> onHost = byReversedHost.get(key);
      if (onHost != null && onHost.remove(claim) && onHost.isEmpty()) {
        byReversedHost.remove(key);
      }
    }

    boolean isEmpty() {
      return byReversedHost.isEmpty();
    }

    /** The claims on hosts that overlap {@code host} ({@link #hostsOverlap}), in no order. */
    List<Claim> overlapping(String host) {
      if (host.equals("*")) {
        List<Claim> all = new ArrayList<>();
        byReversedHost.values().forEach(all::addAll);
        return all;
      }
      TreeSet<String> hosts = new TreeSet<>();
      hosts.add("*");
      hosts.add(reversed(host));
      // The wildcards that cover it: *.b.example.com, *.example.com, *.com for a.b.example.com.
      for (int dot = host.indexOf('.'); dot >= 0; dot = host.indexOf('.', dot + 1)) {
        hosts.add(reversed("*" + host.substring(dot)));
      }
      List<Claim> overlapping = new ArrayList<>();
      for (String key : hosts) {
        overlapping.addAll(byReversedHost.getOrDefault(key, List.of()));
      }
      if (host.startsWith("*.")) {
        // The hosts it covers, the narrower wildcards among them.
        String below = reversed(host.substring(1));
        for (Map.Entry<String, List<Claim>> covered :
            byReversedHost.tailMap(below, true).entrySet()) {
          if (!covered.getKey().startsWith(below)) {
            break;
          }
          if (!hosts.contains(covered.getKey())) {
            overlapping.addAll(covered.getValue());
          }
        }
      }
      return overlapping;
    }

    private static String reversed(String host) {
      return new StringBuilder(host).reverse().toString();
    }
  }

  /** Claims {@code routes} for {@code service} (its earlier claims stay; see {@link #release}). */
  void claim(String service, List<RouteSpec> routes) {
    List<Claim> claims = claimsByService.computeIfAbsent(service, s -> new ArrayList<>());
    for (RouteSpec route : routes) {
      for (String host : hostsOf(route)) {
        Claim claim = new Claim(service, host, route, claimed++);
        claims.add(claim);
        claimsByBeginning
            .computeIfAbsent(route.match().path().guaranteedPrefix(), b -> new ClaimsByHost())
            .add(claim);
      }
    }
  }

  void release(String service) {
    List<Claim> claims = claimsByService.remove(service);
    if (claims == null) {
      return;
    }
    for (Claim claim : claims) {
      String beginning = claim.route().match().path().guaranteedPrefix();
      ClaimsByHost atBeginning = claimsByBeginning.get(beginning);
      if (atBeginning != null) {
        atBeginning.remove(claim);
        if (atBeginning.isEmpty()) {
          claimsByBeginning.remove(beginning);
        }
      }
    }
  }

  /**
   * The first route of another service that {@code route} of {@code registration} would capture
   * requests from.
   *
   * @return the conflict to report; empty when the route takes nothing from anybody
   */
  Optional<RouteConflictException> conflict(Registration registration, RouteSpec route) {
    PathMatch path = route.match().path();
    String beginning = path.guaranteedPrefix();
    // Walks down the keys that are prefixes of the beginning, from the longest: each step either
    // lands on one or
    // moves the probe to the common prefix of the key it met, so it costs a few lookups, not one
    // per character.
    String probe = beginning;
    while (true) {
      String key = claimsByBeginning.floorKey(probe);
      if (key == null) {
        break;
      }
      if (beginning.startsWith(key)) {
        Optional<RouteConflictException> found =
            conflict(registration, route, claimsByBeginning.get(key));
        if (found.isPresent()) {
          return found;
        }
        if (key.isEmpty()) {
          break;
        }
        probe = key.substring(0, key.length() - 1);
      } else {
        probe = beginning.substring(0, commonPrefixLength(key, beginning));
      }
    }
    if (path.kind() == PathMatch.Kind.REGEX) {
      // Keys that begin with the regex's beginning follow it in order: a regex can reach every path
      // below it.
      for (Map.Entry<String, ClaimsByHost> below :
          claimsByBeginning.tailMap(beginning, false).entrySet()) {
        if (!below.getKey().startsWith(beginning)) {
          break;
        }
        Optional<RouteConflictException> found = conflict(registration, route, below.getValue());
        if (found.isPresent()) {
          return found;
        }
      }
    }
    return Optional.empty();
  }

  private static Optional<RouteConflictException> conflict(
      Registration registration, RouteSpec route, ClaimsByHost candidates) {
    // Each claim on a host that overlaps one of the route's, with that host, the first claimed
    // first (then in the route's order of hosts): the owner named is the first that claimed.
    record Candidate(Claim claim, String host) {}
    List<Candidate> overlapping = new ArrayList<>();
    for (String host : hostsOf(route)) {
      for (Claim existing : candidates.overlapping(host)) {
        overlapping.add(new Candidate(existing, host));
      }
    }
    overlapping.sort(Comparator.comparingLong(candidate -> candidate.claim().order()));
    for (Candidate candidate : overlapping) {
      Claim existing = candidate.claim();
      if (existing.service().equals(registration.service())) {
        continue;
      }
      Optional<String> how =
          captures(
              route.match().path(),
              existing.route().match().path(),
              registration.delegatedPrefixes());
      if (how.isPresent()) {
        return Optional.of(
            new RouteConflictException(
                candidate.host(),
                route.match().toString(),
                existing.service(),
                existing.host(),
                existing.route().match().toString(),
                how.get()));
      }
    }
    return Optional.empty();
  }

  /**
   * @throws RouteConflictException for the first route of {@code registration} that captures
   *     another's
   */
  void check(Registration registration) {
    for (RouteSpec route : registration.routes()) {
      Optional<RouteConflictException> conflict = conflict(registration, route);
      if (conflict.isPresent()) {
        throw conflict.get();
      }
    }
  }

  /** How a new path takes requests of an existing path on the same host, if it does. */
  static Optional<String> captures(PathMatch added, PathMatch existing, List<String> delegated) {
    if (added.equals(existing)) {
      return Optional.of("the same path");
    }
    return switch (added.kind()) {
      case EXACT ->
          switch (existing.kind()) {
            case PREFIX ->
                added.within(existing.value())
                    ? Optional.of("an exact path inside its prefix")
                    : Optional.empty();
            case REGEX ->
                Pattern.matches(existing.value(), added.value())
                    ? Optional.of("an exact path its regex matches")
                    : Optional.empty();
            case EXACT -> Optional.empty();
          };
      // Regex routes are tried before every prefix route, so a regex must not reach into another's
      // prefix at all.
      case REGEX ->
          switch (existing.kind()) {
            case PREFIX ->
                regexReaches(added.guaranteedPrefix(), existing.value())
                        && !delegatedInside(added, existing.value(), delegated)
                    ? Optional.of("a regex that can match paths inside its prefix")
                    : Optional.empty();
            case REGEX ->
                literalsOverlap(added.guaranteedPrefix(), existing.guaranteedPrefix())
                    ? Optional.of("a regex that can match the paths of its regex")
                    : Optional.empty();
            case EXACT -> Optional.empty();
          };
      case PREFIX ->
          existing.kind() == PathMatch.Kind.PREFIX
                  && added.within(existing.value())
                  && !delegatedInside(added, existing.value(), delegated)
              ? Optional.of("a prefix inside its prefix")
              : Optional.empty();
    };
  }

  /**
   * Whether a path in a prefix route's territory ({@code prefix}, segment-aware) can begin with
   * {@code literal}.
   */
  private static boolean regexReaches(String literal, String prefix) {
    return prefix.startsWith(literal)
        || literal.startsWith(prefix.endsWith("/") ? prefix : prefix + "/");
  }

  private static int commonPrefixLength(String a, String b) {
    int length = Math.min(a.length(), b.length());
    int i = 0;
    while (i < length && a.charAt(i) == b.charAt(i)) {
      i++;
    }
    return i;
  }

  private static boolean literalsOverlap(String a, String b) {
    return a.startsWith(b) || b.startsWith(a);
  }

  /**
   * Whether the operator delegated a sub-path of {@code ownersPrefix} that holds {@code added}: a
   * granted prefix strictly inside the owner's prefix. A grant as wide as the owner's prefix (or
   * wider) delegates nothing.
   */
  private static boolean delegatedInside(
      PathMatch added, String ownersPrefix, List<String> delegated) {
    return delegated.stream()
        .anyMatch(
            granted ->
                !granted.equals(ownersPrefix)
                    && PathMatch.prefix(granted).within(ownersPrefix)
                    && added.within(granted));
  }

  /**
   * Hosts overlap when one is {@code *}, they are equal, or a {@code *.} wildcard covers the other.
   */
  static boolean hostsOverlap(String a, String b) {
    return a.equals(b)
        || a.equals("*")
        || b.equals("*")
        || wildcardCovers(a, b)
        || wildcardCovers(b, a);
  }

  private static boolean wildcardCovers(String wildcard, String host) {
    return wildcard.startsWith("*.") && host.endsWith(wildcard.substring(1));
  }

  static List<String> hostsOf(RouteSpec route) {
    return route.hosts().isEmpty() ? List.of("*") : route.hosts();
  }
}
