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
 * answer to the stream's next request for names of its type, so that the Envoy's answer still
 * covers it, and with a quarantine trial that changes its type even when it did not change itself,
 * so that the trial is judged by it (a trial that keeps the culprit unchanged must be rejected
 * again, not pass because the culprit was not sent: {@link XdsSnapshotCache#setTrialSnapshot}). A
 * response that carries it takes it off. The cache finds the rejected names here, through the
 * pending set the library's watch carries.
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
