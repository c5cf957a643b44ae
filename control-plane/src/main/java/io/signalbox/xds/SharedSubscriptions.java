package io.signalbox.xds;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import java.util.BitSet;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
   * Names as one side of a step: as a stream listed them, to look up, or kept as a key, each name
   * with its position. Compared as sets, since the order in which a stream lists them changes
   * nothing (each Envoy lists a set in its own hash order), and hashed as sets without a copy: an
   * Envoy's first endpoint request names every cluster, and a copy per stream was about 100 KB at
   * 10,000 clusters. Only the step's first maker keeps a copy, as the key.
   */
  private static final class Names {
    private final List<String> listed;
    private final Map<String, Integer> positions;
    private final int hash;

    private Names(List<String> listed, Map<String, Integer> positions, int hash) {
      this.listed = listed;
      this.positions = positions;
      this.hash = hash;
    }

    static Names listed(List<String> names) {
      int hash = 0;
      for (String name : names) {
        hash += name.hashCode();
      }
      return new Names(names, null, hash);
    }

    /** These names as a key: each name once, hashed as the set it is. */
    Names kept() {
      if (positions != null) {
        return this;
      }
      Map<String, Integer> kept = new HashMap<>();
      int hash = 0;
      for (String name : listed) {
        if (kept.putIfAbsent(name, kept.size()) == null) {
          hash += name.hashCode();
        }
      }
      return new Names(null, Collections.unmodifiableMap(kept), hash);
    }

    /**
     * Whether both hold the same names. A listed side matches a kept one only when it names each of
     * the key's names exactly once: a list that names one twice, whatever its hash, is not found.
     */
    static boolean same(Names a, Names b) {
      if (a.positions != null && b.positions != null) {
        return a.positions.keySet().equals(b.positions.keySet());
      }
      if (a.positions == null && b.positions == null) {
        return Set.copyOf(a.listed).equals(Set.copyOf(b.listed));
      }
      Names kept = a.positions != null ? a : b;
      List<String> listed = a.positions != null ? b.listed : a.listed;
      if (listed.size() != kept.positions.size()) {
        return false;
      }
      BitSet seen = new BitSet(listed.size());
      for (String name : listed) {
        Integer position = kept.positions.get(name);
        if (position == null || seen.get(position)) {
          return false;
        }
        seen.set(position);
      }
      return true;
    }
  }

  /** One step of a stream's subscription: names subscribed to, then names unsubscribed from. */
  private record Change(Names subscribe, Names unsubscribe) {

    static Change listed(List<String> subscribe, List<String> unsubscribe) {
      return new Change(Names.listed(subscribe), Names.listed(unsubscribe));
    }

    Change kept() {
      return new Change(subscribe.kept(), unsubscribe.kept());
    }

    @Override
    public boolean equals(Object other) {
      return other instanceof Change change
          && hashCode() == change.hashCode()
          && Names.same(subscribe, change.subscribe)
          && Names.same(unsubscribe, change.unsubscribe);
    }

    @Override
    public int hashCode() {
      return 31 * subscribe.hash + unsubscribe.hash;
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
