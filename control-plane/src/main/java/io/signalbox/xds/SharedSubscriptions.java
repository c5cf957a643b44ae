package io.signalbox.xds;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import org.pcollections.HashTreePSet;
import org.pcollections.PSet;

/**
 * The resource names a delta stream subscribes to, as an immutable set shared between streams.
 *
 * <p>Every Envoy of a group subscribes to the same names in the same steps (it asks for the
 * endpoints of the clusters it was sent), so a fleet of a thousand holds a thousand equal sets of
 * every cluster name when each stream keeps its own. Here a set remembers the set each change made
 * of it (weakly: a set no stream holds any more is collected), so the streams that make the same
 * change share the result, and the first to make it pays only for the change (a persistent set).
 */
final class SharedSubscriptions {

  static final SharedSubscriptions NONE = new SharedSubscriptions(HashTreePSet.empty());

  /**
   * One step of a stream's subscription: names subscribed to, then names unsubscribed from,
   * compared as sets, since the order in which a stream lists them changes nothing (each Envoy
   * lists a set in its own hash order). A stream looks its step up with its lists as they are,
   * hashed as sets without a copy (an Envoy's first endpoint request names every cluster, and a
   * copy per stream was about 100 KB at 10,000 clusters); only the step's first maker keeps a copy,
   * a set, as the key.
   */
  private static final class Change {
    private final Collection<String> subscribe;
    private final Collection<String> unsubscribe;
    private final int hash;

    private Change(Collection<String> subscribe, Collection<String> unsubscribe, int hash) {
      this.subscribe = subscribe;
      this.unsubscribe = unsubscribe;
      this.hash = hash;
    }

    /** The step as a stream listed it, to look up. */
    static Change listed(List<String> subscribe, List<String> unsubscribe) {
      return new Change(subscribe, unsubscribe, 31 * setHash(subscribe) + setHash(unsubscribe));
    }

    /** The step to keep as a key: its names as sets. */
    Change kept() {
      return new Change(Set.copyOf(subscribe), Set.copyOf(unsubscribe), hash);
    }

    /** {@link Set#hashCode} of {@code names}' set, when they hold no name twice. */
    private static int setHash(List<String> names) {
      int hash = 0;
      for (String name : names) {
        hash += name.hashCode();
      }
      return hash;
    }

    /**
     * Whether {@code a} and {@code b} hold the same names, one of them a set (a key): a list that
     * names one twice is larger than its set, and is then only not found.
     */
    private static boolean sameNames(Collection<String> a, Collection<String> b) {
      if (a.size() != b.size()) {
        return false;
      }
      if (a instanceof Set<String> set) {
        return set.containsAll(b);
      }
      if (b instanceof Set<String> set) {
        return set.containsAll(a);
      }
      return Set.copyOf(a).equals(Set.copyOf(b));
    }

    @Override
    public boolean equals(Object other) {
      return other instanceof Change change
          && hash == change.hash
          && sameNames(subscribe, change.subscribe)
          && sameNames(unsubscribe, change.unsubscribe);
    }

    @Override
    public int hashCode() {
      return hash;
    }
  }

  private final PSet<String> names;
  private final Cache<Change, SharedSubscriptions> changed =
      CacheBuilder.newBuilder().weakValues().build();

  private SharedSubscriptions(PSet<String> names) {
    this.names = names;
  }

  /**
   * The set after subscribing to {@code subscribe} and then unsubscribing from {@code unsubscribe}.
   */
  SharedSubscriptions change(List<String> subscribe, List<String> unsubscribe) {
    if (subscribe.isEmpty() && unsubscribe.isEmpty()) {
      return this;
    }
    Change change = Change.listed(subscribe, unsubscribe);
    SharedSubscriptions made = changed.getIfPresent(change);
    if (made != null) {
      return made;
    }
    made = new SharedSubscriptions(names.plusAll(subscribe).minusAll(unsubscribe));
    // Two streams that make the step at once may each make it; the first one kept is shared.
    SharedSubscriptions first = changed.asMap().putIfAbsent(change.kept(), made);
    return first == null ? made : first;
  }

  boolean contains(String name) {
    return names.contains(name);
  }

  boolean containsAll(Collection<String> required) {
    return names.containsAll(required);
  }

  boolean isEmpty() {
    return names.isEmpty();
  }
}
