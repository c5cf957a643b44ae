package io.signalbox.xds;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import io.envoyproxy.controlplane.cache.ConfigWatcher;
import io.envoyproxy.controlplane.cache.DeltaResponse;
import io.envoyproxy.controlplane.cache.DeltaWatch;
import io.envoyproxy.controlplane.cache.DeltaXdsRequest;
import io.envoyproxy.controlplane.cache.NodeGroup;
import io.envoyproxy.controlplane.cache.Resources.ApiVersion;
import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.controlplane.cache.Snapshot;
import io.envoyproxy.controlplane.cache.SnapshotCache;
import io.envoyproxy.controlplane.cache.VersionedResource;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.controlplane.server.exception.RequestException;
import io.envoyproxy.controlplane.server.serializer.ProtoResourcesSerializer;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceImplBase;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The aggregated discovery service: delta streams are served here ({@link DeltaAdsStream}),
 * state-of-the-world streams by java-control-plane's server. Both run the same callbacks and watch
 * the same {@link ConfigWatcher}, so NACK handling, lag detection and operator insight see one kind
 * of stream.
 *
 * <p>Why delta streams are ours: the library's stream observer keeps, per stream and type, a map of
 * every resource name to the version sent; at 10,000 services and 1,000 Envoys those maps were two
 * thirds of the control plane's heap. Ours keep only how a stream differs from its group's
 * snapshot.
 */
public final class DeltaAdsServer {

  /**
   * Delta streams are numbered from here, apart from the library's state-of-the-world streams
   * (numbered from 0): the callbacks key streams by number.
   */
  static final long FIRST_STREAM_ID = 1L << 40;

  private final List<DiscoveryServerCallbacks> callbacks;
  private final ConfigWatcher watcher;
  private final ProtoResourcesSerializer serializer;
  private final SnapshotCache<String, ? extends Snapshot> cache;
  private final NodeGroup<String> groups;
  private final BaseChanges baseChanges = new BaseChanges();

  /** By the very resource version (weak keys compare by identity). */
  private final Cache<VersionedResource<?>, Resource> resources =
      CacheBuilder.newBuilder().weakKeys().build();

  private final AtomicLong streamIds = new AtomicLong(FIRST_STREAM_ID);

  /**
   * @param callbacks run for every stream, request and response, as the library's server runs them
   * @param watcher opens the watches
   * @param serializer serializes each resource (a caching one serializes each version once)
   * @param cache and {@code groups}: the snapshot a stream's tracked versions are kept against
   */
  public DeltaAdsServer(
      List<DiscoveryServerCallbacks> callbacks,
      ConfigWatcher watcher,
      ProtoResourcesSerializer serializer,
      SnapshotCache<String, ? extends Snapshot> cache,
      NodeGroup<String> groups) {
    this.callbacks = List.copyOf(callbacks);
    this.watcher = watcher;
    this.serializer = serializer;
    this.cache = cache;
    this.groups = groups;
  }

  /** The ADS service: delta streams here, state-of-the-world ones to {@code stateOfTheWorld}. */
  public AggregatedDiscoveryServiceImplBase aggregatedDiscoveryService(
      AggregatedDiscoveryServiceImplBase stateOfTheWorld) {
    return new AggregatedDiscoveryServiceImplBase() {
      @Override
      public StreamObserver<DiscoveryRequest> streamAggregatedResources(
          StreamObserver<DiscoveryResponse> responses) {
        return stateOfTheWorld.streamAggregatedResources(responses);
      }

      @Override
      public StreamObserver<DeltaDiscoveryRequest> deltaAggregatedResources(
          StreamObserver<DeltaDiscoveryResponse> responses) {
        return open(responses);
      }
    };
  }

  private StreamObserver<DeltaDiscoveryRequest> open(
      StreamObserver<DeltaDiscoveryResponse> responses) {
    long streamId = streamIds.getAndIncrement();
    for (DiscoveryServerCallbacks callback : callbacks) {
      try {
        callback.onStreamOpen(streamId, "");
      } catch (RequestException e) {
        runCloseWithErrorCallbacks(streamId, e);
        throw new StatusRuntimeException(e.getStatus());
      }
    }
    DeltaAdsStream stream = new DeltaAdsStream(streamId, responses, this);
    if (responses instanceof ServerCallStreamObserver<DeltaDiscoveryResponse> call) {
      call.setOnCancelHandler(stream::onCancelled);
    }
    return stream;
  }

  DeltaWatch watch(
      DeltaXdsRequest request,
      String version,
      Map<String, String> tracked,
      Set<String> pending,
      boolean wildcard,
      Consumer<DeltaResponse> responses,
      boolean hasClusterChanged) {
    return watcher.createDeltaWatch(
        request, version, tracked, pending, wildcard, responses, hasClusterChanged);
  }

  String group(Node node) {
    return groups.hash(node);
  }

  /** The resources of {@code type} in {@code group}'s snapshot, or null before it has one. */
  @SuppressWarnings("unchecked")
  Map<String, ? extends VersionedResource<?>> currentResources(String group, ResourceType type) {
    Snapshot snapshot = group == null ? null : cache.getSnapshot(group);
    return snapshot == null
        ? null
        : (Map<String, ? extends VersionedResource<?>>)
            (Map<?, ?>) snapshot.versionedResources(type);
  }

  List<String> changesBetween(
      Map<String, ? extends VersionedResource<?>> from,
      Map<String, ? extends VersionedResource<?>> to) {
    return baseChanges.between(from, to);
  }

  /**
   * A resource as a delta response carries it: made once per resource version and shared by every
   * stream that is sent it (the initial sync of 1,000 streams of 30,000 resources made 30 million
   * otherwise, all garbage). Held while the snapshot holds the version.
   */
  Resource resource(String name, VersionedResource<?> versioned) {
    // Looked up first: the loader, a lambda and the cache's wrapper of it, would otherwise be made
    // for every resource of every response (a gigabyte at the initial sync of 1,000 streams of
    // 10,000 services), though all but the first stream find the resource made.
    Resource made = resources.getIfPresent(versioned);
    if (made != null) {
      return made;
    }
    try {
      return resources.get(
          versioned,
          () ->
              Resource.newBuilder()
                  .setName(name)
                  .setVersion(versioned.version())
                  .setResource(serializer.serialize(versioned.resource(), ApiVersion.V3))
                  .build());
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    }
  }

  void runRequestCallbacks(long streamId, DeltaDiscoveryRequest request) throws RequestException {
    for (DiscoveryServerCallbacks callback : callbacks) {
      callback.onV3StreamDeltaRequest(streamId, request);
    }
  }

  void runResponseCallbacks(
      long streamId, DeltaDiscoveryRequest request, DeltaDiscoveryResponse response) {
    callbacks.forEach(callback -> callback.onV3StreamDeltaResponse(streamId, request, response));
  }

  void runCloseCallbacks(long streamId) {
    callbacks.forEach(callback -> callback.onStreamClose(streamId, ""));
  }

  void runCloseWithErrorCallbacks(long streamId, Throwable error) {
    callbacks.forEach(callback -> callback.onStreamCloseWithError(streamId, "", error));
  }
}
