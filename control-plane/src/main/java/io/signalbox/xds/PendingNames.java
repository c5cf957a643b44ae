package io.signalbox.xds;

import com.google.common.collect.ForwardingSet;
import java.util.Collection;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * A delta stream's names of one type subscribed to and not yet acknowledged, with, apart, the names
 * of resources its Envoy rejected and has not been sent again since.
 *
 * <p>A rejected resource is not sent again at once: Envoy rejects the same version each time, and a
 * stream that kept it pending was sent it back and forth without end. It rides instead with the
 * stream's next answer of its type, changed or not, unless the last good configuration holds it as
 * it is ({@link XdsSnapshotCache#setLastGood}), so that the Envoy's answer to each new snapshot
 * still covers it. A response that carries it takes it off. The cache finds the rejected names
 * here, through the pending set the library's watch carries.
 *
 * <p>Envoy subscribes to the endpoints of all its clusters at once, and a concurrent set never
 * gives back the table it grew to: 10,000 names pending for a moment kept 64 KB per stream for the
 * stream's life, a third of the heap at 1,000 streams. Once drained, a set that grew large is
 * replaced by an empty one ({@link #compactIfDrained}). Changes take this object's monitor, so that
 * none lands in a set being replaced (the publisher adds names too); lookups and walks read the
 * current set without it.
 */
final class PendingNames extends ForwardingSet<String> {

  /** Above this many names at once, a drained set is replaced. */
  private static final int LARGE = 1_024;

  private volatile Set<String> pending = ConcurrentHashMap.newKeySet();
  private final Set<String> rejected = ConcurrentHashMap.newKeySet();

  /** The most names the current set has held; guarded by this. */
  private int peak;

  @Override
  protected Set<String> delegate() {
    return pending;
  }

  @Override
  public synchronized boolean add(String name) {
    boolean added = pending.add(name);
    peak = Math.max(peak, pending.size());
    return added;
  }

  @Override
  public synchronized boolean addAll(Collection<? extends String> names) {
    boolean added = pending.addAll(names);
    peak = Math.max(peak, pending.size());
    return added;
  }

  @Override
  public synchronized boolean remove(Object name) {
    return pending.remove(name);
  }

  @Override
  public synchronized boolean removeAll(Collection<?> names) {
    return pending.removeAll(names);
  }

  @Override
  public synchronized boolean removeIf(Predicate<? super String> filter) {
    return pending.removeIf(filter);
  }

  @Override
  public synchronized boolean retainAll(Collection<?> names) {
    return pending.retainAll(names);
  }

  @Override
  public synchronized void clear() {
    pending.clear();
  }

  /** Replaces the set by an empty one when it is empty and once held many names. */
  synchronized void compactIfDrained() {
    if (peak > LARGE && pending.isEmpty()) {
      pending = ConcurrentHashMap.newKeySet();
      peak = 0;
    }
  }

  /** Names rejected and not sent since; read by the publisher with iteration of this set only. */
  Set<String> rejected() {
    return rejected;
  }
}
