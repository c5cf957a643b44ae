package io.signalbox.xds;

import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.signalbox.envoy.XdsTypes;
import io.signalbox.metrics.SignalboxMetrics;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches xDS streams: announces each node group the first time one of its Envoys connects (so the
 * pipeline publishes a snapshot for it), reports NACKs with the node and Envoy's error, and feeds
 * the {@link ProxyStatusTracker} that the admin API reads.
 */
public final class XdsCallbacks implements DiscoveryServerCallbacks {

  private static final Logger log = LoggerFactory.getLogger(XdsCallbacks.class);

  private final NodeGroups groups;
  private final Consumer<String> groupSeen;
  private final Consumer<String> groupLeft;
  private final NackAwareConfigWatcher watcher;
  private final AtomicLong nacks = new AtomicLong();
  private final Map<String, AtomicLong> responsesByType = new ConcurrentHashMap<>();
  private final ProxyStatusTracker proxies;
  private final SignalboxMetrics metrics;
  private final Consumer<Boolean> answerListener;

  /**
   * @param proxies records every stream's sync status
   * @param groupSeen told of each node group when one of its Envoys connects
   * @param groupLeft told of each node group when its last Envoy's stream closes
   * @param answered told of every ACK ({@code false}) and NACK ({@code true}) once {@code proxies}
   *     has recorded it, on the stream's thread
   */
  public XdsCallbacks(
      NodeGroups groups,
      ProxyStatusTracker proxies,
      Consumer<String> groupSeen,
      Consumer<String> groupLeft,
      Consumer<Boolean> answered,
      NackAwareConfigWatcher watcher,
      SignalboxMetrics metrics) {
    this.groups = groups;
    this.proxies = proxies;
    this.groupSeen = groupSeen;
    this.groupLeft = groupLeft;
    this.answerListener = answered;
    this.watcher = watcher;
    this.metrics = metrics;
  }

  /** Every connected Envoy's sync status. */
  public ProxyStatusTracker proxies() {
    return proxies;
  }

  @Override
  public void onV3StreamRequest(long streamId, DiscoveryRequest request) {
    boolean opened = proxies.onRequest(streamId, request);
    onRequest(
        streamId,
        opened,
        request.getNode(),
        request.getTypeUrl(),
        request.getVersionInfo(),
        request.hasErrorDetail() ? request.getErrorDetail().getMessage() : null);
    if (!request.getResponseNonce().isEmpty()) {
      answerListener.accept(request.hasErrorDetail());
    }
  }

  @Override
  public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) {
    boolean opened = proxies.onDeltaRequest(streamId, request);
    onRequest(
        streamId,
        opened,
        request.getNode(),
        request.getTypeUrl(),
        "",
        request.hasErrorDetail() ? request.getErrorDetail().getMessage() : null);
    if (!request.getResponseNonce().isEmpty()) {
      answerListener.accept(request.hasErrorDetail());
    }
  }

  @Override
  public void onV3StreamResponse(
      long streamId, DiscoveryRequest request, DiscoveryResponse response) {
    proxies.onResponse(streamId, response);
    countResponse(response.getTypeUrl());
  }

  @Override
  public void onV3StreamDeltaResponse(
      long streamId, DeltaDiscoveryRequest request, DeltaDiscoveryResponse response) {
    proxies.onDeltaResponse(streamId, response);
    countResponse(response.getTypeUrl());
  }

  @Override
  public void onStreamClose(long streamId, String typeUrl) {
    closed(streamId, null);
  }

  @Override
  public void onStreamCloseWithError(long streamId, String typeUrl, Throwable error) {
    closed(streamId, error);
  }

  /** NACKs received since start. */
  public long nackCount() {
    return nacks.get();
  }

  /** Responses sent for a type URL since start, over all streams: shows whether pushes settle. */
  public long responsesSent(String typeUrl) {
    AtomicLong count = responsesByType.get(typeUrl);
    return count == null ? 0 : count.get();
  }

  /** A stream's requests come one at a time, so {@code opened} holds for its first request only. */
  private void onRequest(
      long streamId,
      boolean opened,
      Node node,
      String typeUrl,
      String acceptedVersion,
      String nackDetail) {
    if (opened) {
      String group = groups.hash(node);
      metrics.proxyConnected(group, () -> proxies.openStreams(group));
      log.atInfo()
          .addKeyValue("node_id", node.getId())
          .addKeyValue("group", group)
          .log("Envoy connected: node={} group={} stream={}", node.getId(), group, streamId);
      groupSeen.accept(group);
    }
    if (nackDetail != null) {
      nacks.incrementAndGet();
      metrics.nacked(typeUrl);
      String rejected =
          proxies.lastNack(streamId, typeUrl).map(ProxyStatusTracker.Nack::version).orElse("");
      log.atWarn()
          .addKeyValue("node_id", node.getId())
          .addKeyValue("group", groups.hash(node))
          .addKeyValue("type", XdsTypes.shortName(typeUrl))
          .addKeyValue("version", rejected)
          .log(
              "NACK from node={} group={} type={} of version '{}' (still running version '{}'): {}",
              node.getId(),
              groups.hash(node),
              typeUrl,
              rejected,
              acceptedVersion,
              nackDetail);
    }
  }

  private void countResponse(String typeUrl) {
    responsesByType.computeIfAbsent(typeUrl, t -> new AtomicLong()).incrementAndGet();
    metrics.pushed(typeUrl);
  }

  private void closed(long streamId, Throwable error) {
    Node node = proxies.onStreamClosed(streamId).orElse(null);
    if (node == null) {
      return;
    }
    if (!proxies.connected(node.getId())) {
      watcher.forget(node.getId());
    }
    String group = groups.hash(node);
    if (!proxies.hasStreams(group)) {
      groupLeft.accept(group);
    }
    log.atInfo()
        .addKeyValue("node_id", node.getId())
        .addKeyValue("group", group)
        .log(
            "Envoy disconnected: node={} stream={}{}",
            node.getId(),
            streamId,
            error == null ? "" : " (" + error.getMessage() + ")");
  }
}
