package io.signalbox.xds;

import io.envoyproxy.controlplane.cache.ConfigWatcher;
import io.envoyproxy.controlplane.cache.DeltaResponse;
import io.envoyproxy.controlplane.cache.DeltaWatch;
import io.envoyproxy.controlplane.cache.DeltaXdsRequest;
import io.envoyproxy.controlplane.cache.Response;
import io.envoyproxy.controlplane.cache.Watch;
import io.envoyproxy.controlplane.cache.XdsRequest;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A {@link ConfigWatcher} that hands both kinds of watch to another one: the base of Signalbox's
 * decorators of java-control-plane's cache, each of which overrides only the kind of stream it
 * corrects.
 */
abstract class ForwardingConfigWatcher implements ConfigWatcher {

  private final ConfigWatcher delegate;

  ForwardingConfigWatcher(ConfigWatcher delegate) {
    this.delegate = delegate;
  }

  @Override
  public Watch createWatch(
      boolean ads,
      XdsRequest request,
      Set<String> knownResourceNames,
      Consumer<Response> responseConsumer,
      boolean hasClusterChanged,
      boolean allowDefaultEmptyEdsUpdate) {
    return delegate.createWatch(
        ads,
        request,
        knownResourceNames,
        responseConsumer,
        hasClusterChanged,
        allowDefaultEmptyEdsUpdate);
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
    return delegate.createDeltaWatch(
        request,
        requesterVersion,
        resourceVersions,
        pendingResources,
        isWildcard,
        responseConsumer,
        hasClusterChanged);
  }
}
