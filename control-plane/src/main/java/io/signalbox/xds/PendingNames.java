package io.signalbox.xds;

import com.google.common.collect.ForwardingSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

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
 */
final class PendingNames extends ForwardingSet<String> {

  private final Set<String> pending = ConcurrentHashMap.newKeySet();
  private final Set<String> rejected = ConcurrentHashMap.newKeySet();

  @Override
  protected Set<String> delegate() {
    return pending;
  }

  /** Names rejected and not sent since; read by the publisher with iteration of this set only. */
  Set<String> rejected() {
    return rejected;
  }
}
