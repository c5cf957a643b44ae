package io.signalbox.xds;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
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
   * One step of a stream's subscription: names subscribed to, then names unsubscribed from. Sets,
   * since the order in which a stream lists them changes nothing.
   */
  private record Change(Set<String> subscribe, Set<String> unsubscribe) {}

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
    try {
      return changed.get(
          new Change(Set.copyOf(subscribe), Set.copyOf(unsubscribe)),
          () -> new SharedSubscriptions(names.plusAll(subscribe).minusAll(unsubscribe)));
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    }
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
