package io.signalbox.xds;

import io.envoyproxy.controlplane.cache.DeltaResponse;
import io.envoyproxy.controlplane.cache.DeltaWatch;
import io.envoyproxy.controlplane.cache.DeltaXdsRequest;
import io.envoyproxy.controlplane.cache.NodeGroup;
import io.envoyproxy.controlplane.cache.Snapshot;
import io.envoyproxy.controlplane.cache.SnapshotCache;
import io.envoyproxy.controlplane.cache.WatchCancelledException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Answers a delta stream's first wildcard request for a type that the snapshot has no resources of.
 * The cache sends delta responses only for changes, so such a request would go unanswered, and
 * Envoy holds its initialization (and its readiness) for the initial-fetch timeout, 15 s by
 * default: a gateway with no services yet, or any type we do not use yet, would start slowly. The
 * empty response tells Envoy "there is nothing" at the snapshot's version.
 */
public final class InitialDeltaResponseWatcher extends ForwardingConfigWatcher {

  private final SnapshotCache<String, ? extends Snapshot> cache;
  private final NodeGroup<String> groups;

  public InitialDeltaResponseWatcher(
      SnapshotCache<String, ? extends Snapshot> cache, NodeGroup<String> groups) {
    super(cache);
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
    String group = groups.hash(request.v3Request().getNode());
    Snapshot before = cache.getSnapshot(group);
    DeltaWatch watch =
        super.createDeltaWatch(
            request,
            requesterVersion,
            resourceVersions,
            pendingResources,
            isWildcard,
            responseConsumer,
            hasClusterChanged);
    boolean initial = requesterVersion.isEmpty() && resourceVersions.isEmpty() && isWildcard;
    if (initial
        && before != null
        && before.resources(request.getResourceType()).isEmpty()
        && cache.getSnapshot(group) == before) {
      try {
        watch.respond(
            DeltaResponse.create(
                request,
                Map.of(),
                List.of(),
                before.version(request.getResourceType(), List.of())));
        // Answered: the next change reaches this stream through the watch it opens after Envoy's
        // ACK.
        watch.cancel();
      } catch (WatchCancelledException e) {
        // The stream went away meanwhile; nothing to answer.
      }
    }
    return watch;
  }
}
