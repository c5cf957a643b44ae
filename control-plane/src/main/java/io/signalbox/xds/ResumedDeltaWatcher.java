package io.signalbox.xds;

import io.envoyproxy.controlplane.cache.ConfigWatcher;
import io.envoyproxy.controlplane.cache.DeltaResponse;
import io.envoyproxy.controlplane.cache.DeltaWatch;
import io.envoyproxy.controlplane.cache.DeltaXdsRequest;
import io.envoyproxy.controlplane.cache.NodeGroup;
import io.envoyproxy.controlplane.cache.Snapshot;
import io.envoyproxy.controlplane.cache.SnapshotCache;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Lets a delta stream resume from what Envoy already holds. An Envoy that reconnects (to a
 * restarted control plane or to another replica) lists the resources it has, with their versions,
 * in the first request of each type ({@code initial_resource_versions}). java-control-plane 1.0.49
 * ignores that list (upstream issue #463): the stream starts as if Envoy had nothing, so it
 * re-sends every resource, and never removes those deleted while Envoy was away, which then stay in
 * Envoy forever.
 *
 * <p>This watcher records the list as the stream's tracked state before the cache diffs against it,
 * which is what the library would do had it read the list. The cache's own diff then sends
 * resources Envoy names that the snapshot no longer has as {@code removed_resources}, skips those
 * Envoy holds at the snapshot's version, and sends the rest. For named types (EDS, RDS, SDS) the
 * names Envoy holds leave the pending set: pending names are always sent.
 *
 * <p>The state must be the stream's, not only this watch's: the stream learns what Envoy holds from
 * the responses Envoy acknowledges, so a resource resumed without being re-sent would otherwise be
 * unknown to the stream, and its later deletion never sent. The maps the stream passes in are its
 * own ({@link DeltaAdsStream} hands over its tracked and pending collections, filled by the
 * subscription update that precedes every watch, on the stream's request thread); they are updated
 * in place. Should a stream pass copies, the watch is still seeded, so the reconnect is right and
 * only a later deletion of an unchanged resource would be missed. Before the group's first
 * snapshot, see {@link #resumeBeforeFirstSnapshot}.
 */
public final class ResumedDeltaWatcher extends ForwardingConfigWatcher {

  private final SnapshotCache<String, ? extends Snapshot> cache;
  private final NodeGroup<String> groups;

  /** {@code cache} and {@code groups} tell whether the stream's group has a snapshot yet. */
  public ResumedDeltaWatcher(
      ConfigWatcher delegate,
      SnapshotCache<String, ? extends Snapshot> cache,
      NodeGroup<String> groups) {
    super(delegate);
    this.cache = cache;
    this.groups = groups;
  }

  @Override
  public DeltaWatch createDeltaWatch(
      DeltaXdsRequest request,
      String requesterVersion,
      Map<String, String> resourceVersions,
      Set<String> pendingResources,
      boolean isWildcard,
      Consumer<DeltaResponse> responseConsumer,
      boolean hasClusterChanged) {
    Map<String, String> held = request.v3Request().getInitialResourceVersionsMap();
    // Only the first request of a type on a stream carries the list, and nothing has been sent on
    // it yet.
    boolean resuming =
        !held.isEmpty()
            && requesterVersion.isEmpty()
            && request.v3Request().getResponseNonce().isEmpty();
    if (!resuming) {
      return super.createDeltaWatch(
          request,
          requesterVersion,
          resourceVersions,
          pendingResources,
          isWildcard,
          responseConsumer,
          hasClusterChanged);
    }
    if (cache.getSnapshot(groups.hash(request.v3Request().getNode())) == null) {
      return resumeBeforeFirstSnapshot(
          request,
          requesterVersion,
          resourceVersions,
          pendingResources,
          isWildcard,
          responseConsumer,
          hasClusterChanged,
          held);
    }
    Map<String, String> tracked = resourceVersions;
    Set<String> pending = pendingResources;
    try {
      held.forEach(resourceVersions::putIfAbsent);
      pendingResources.removeAll(held.keySet());
    } catch (UnsupportedOperationException e) {
      tracked = new HashMap<>(held);
      tracked.putAll(resourceVersions);
      pending = new HashSet<>(pendingResources);
      pending.removeAll(held.keySet());
    }
    return super.createDeltaWatch(
        request,
        requesterVersion,
        tracked,
        pending,
        isWildcard,
        responseConsumer,
        hasClusterChanged);
  }

  /**
   * No snapshot yet (the control plane is still loading): the watch stays open, and the cache diffs
   * the first snapshot against no previous one, so it would compute no removals, and with nothing
   * else changed it would not answer at all. The watch therefore asks for everything Envoy holds,
   * as on a first connection, and the answer removes what Envoy holds that it does not contain.
   * This re-sends what Envoy holds, once, only in that window.
   */
  private DeltaWatch resumeBeforeFirstSnapshot(
      DeltaXdsRequest request,
      String requesterVersion,
      Map<String, String> resourceVersions,
      Set<String> pendingResources,
      boolean isWildcard,
      Consumer<DeltaResponse> responseConsumer,
      boolean hasClusterChanged,
      Map<String, String> held) {
    Set<String> pending = new HashSet<>(pendingResources);
    pending.addAll(held.keySet());
    try {
      // The stream learns what Envoy holds, so that a removal acknowledged later is tracked like
      // any other.
      held.forEach(resourceVersions::putIfAbsent);
    } catch (UnsupportedOperationException e) {
      // A copy: only this first answer depends on it, and it is complete without.
    }
    Consumer<DeltaResponse> withRemovals =
        response -> {
          List<String> removed = new ArrayList<>(response.removedResources());
          held.keySet().stream()
              .filter(name -> !response.resources().containsKey(name) && !removed.contains(name))
              .sorted()
              .forEach(removed::add);
          responseConsumer.accept(
              DeltaResponse.create(
                  response.request(),
                  Map.copyOf(response.resources()),
                  removed,
                  response.version()));
        };
    return super.createDeltaWatch(
        request, requesterVersion, Map.of(), pending, isWildcard, withRemovals, hasClusterChanged);
  }
}
