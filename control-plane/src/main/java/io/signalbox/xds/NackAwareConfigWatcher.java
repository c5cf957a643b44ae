package io.signalbox.xds;

import com.google.common.collect.ImmutableSet;
import io.envoyproxy.controlplane.cache.ConfigWatcher;
import io.envoyproxy.controlplane.cache.Response;
import io.envoyproxy.controlplane.cache.Watch;
import io.envoyproxy.controlplane.cache.XdsRequest;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Stops the state-of-the-world NACK loop. A NACK carries the last version Envoy accepted, which
 * differs from the snapshot's, so the cache would answer it at once with the very resources Envoy
 * just rejected, forever. This watcher remembers the last version sent to each node for each type
 * and, on a NACK, asks the cache to watch from the rejected version instead: the rejected resources
 * are not sent again, and the next different snapshot is.
 *
 * <p>Delta streams need no help: {@link DeltaAdsStream} records the sent version before the NACK
 * arrives, and holds a rejected response's resources at the versions rejected ({@link
 * PendingNames}).
 */
public final class NackAwareConfigWatcher extends ForwardingConfigWatcher {

  /** Last version sent, by node id and type URL. Node ids are expected to be unique per Envoy. */
  private final Map<String, Map<String, String>> lastSentVersions = new ConcurrentHashMap<>();

  public NackAwareConfigWatcher(ConfigWatcher delegate) {
    super(delegate);
  }

  @Override
  public Watch createWatch(
      boolean ads,
      XdsRequest request,
      Set<String> knownResourceNames,
      Consumer<Response> responseConsumer,
      boolean hasClusterChanged,
      boolean allowDefaultEmptyEdsUpdate) {
    String nodeId = request.v3Request().getNode().getId();
    String typeUrl = request.getTypeUrl();
    XdsRequest effective = request;
    Set<String> known = knownResourceNames;
    boolean clusterChanged = hasClusterChanged;
    String rejected =
        request.hasErrorDetail()
            ? lastSentVersions.getOrDefault(nodeId, Map.of()).get(typeUrl)
            : null;
    if (rejected != null) {
      effective =
          XdsRequest.create(request.v3Request().toBuilder().setVersionInfo(rejected).build());
      // The cache also answers at once when names are requested that were never acknowledged; after
      // a NACK they
      // were sent, just not accepted, so they count as known.
      known = ImmutableSet.copyOf(request.getResourceNamesList());
      clusterChanged = false;
    }
    return super.createWatch(
        ads,
        effective,
        known,
        response -> {
          lastSentVersions
              .computeIfAbsent(nodeId, id -> new ConcurrentHashMap<>())
              .put(typeUrl, response.version());
          responseConsumer.accept(response);
        },
        clusterChanged,
        allowDefaultEmptyEdsUpdate);
  }

  /** Forgets a node that has no stream left. */
  void forget(String nodeId) {
    lastSentVersions.remove(nodeId);
  }
}
