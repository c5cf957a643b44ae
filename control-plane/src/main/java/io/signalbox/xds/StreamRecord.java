package io.signalbox.xds;

import static io.envoyproxy.controlplane.cache.Resources.V3.ENDPOINT_TYPE_URL;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.signalbox.metrics.SignalboxMetrics;
import io.signalbox.xds.ProxyStatusTracker.Mode;
import io.signalbox.xds.ProxyStatusTracker.Nack;
import io.signalbox.xds.ProxyStatusTracker.ProxyStatus;
import io.signalbox.xds.ProxyStatusTracker.SyncStatus;
import io.signalbox.xds.ProxyStatusTracker.TypeStatus;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What one xDS stream was sent and answered, per resource type ({@link TypeRecord}), from its first
 * request to its close: the record {@link ProxyStatusTracker} keeps of each open stream.
 *
 * <p>State of the world: a request whose {@code response_nonce} is the nonce of the latest response
 * of its type answers that response; without {@code error_detail} it is an ACK of the {@code
 * version_info} it carries, with it a NACK (and {@code version_info} is what Envoy still runs).
 * Delta: requests carry no version, so each response's {@code system_version_info} is remembered by
 * nonce until the request answering that nonce arrives.
 *
 * <p>A class of its own because how one stream's messages update its record is one job, apart from
 * the tracker's bookkeeping of streams and its reads over all of them. Guarded by its own monitor:
 * the recording methods take it; whoever reads the fields or calls the other methods holds it
 * ({@code synchronized (record)}), for as long as what it reads must hang together.
 */
final class StreamRecord {

  final long id;
  final Node node;
  final String group;
  final Mode mode;
  final Instant connectedSince;

  /**
   * The stream's types by URL. Hashed, not sorted: type URLs share their first thirty-odd
   * characters, which a sorted map compared on every lookup, and a type is looked up on every
   * response and every answer. Sorted for operators only ({@link #status}).
   */
  private final Map<String, TypeRecord> types = new HashMap<>();

  /** Delta: counts the stream's subscribing requests and its responses, to order them. */
  private long messages;

  /** The tracker's count of rejected types, which this stream's records keep. */
  private final AtomicInteger rejectedTypes;

  /** The tracker's clock: when responses were sent and answered. */
  private final Clock clock;

  /** Told how long each ACK took. */
  private final SignalboxMetrics metrics;

  /** Opened now, on the stream's first request. */
  StreamRecord(
      long id,
      Node node,
      String group,
      Mode mode,
      AtomicInteger rejectedTypes,
      Clock clock,
      SignalboxMetrics metrics) {
    this.id = id;
    this.node = node;
    this.group = group;
    this.mode = mode;
    this.connectedSince = clock.instant();
    this.rejectedTypes = rejectedTypes;
    this.clock = clock;
    this.metrics = metrics;
  }

  /** The type's record, opened if the stream has none yet; with the monitor held. */
  TypeRecord type(String typeUrl) {
    TypeRecord type = types.get(typeUrl);
    if (type == null) {
      type = new TypeRecord(typeUrl, rejectedTypes);
      types.put(typeUrl, type);
    }
    return type;
  }

  /** The record of a type the stream has used, or null; with the monitor held. */
  TypeRecord typeIfAny(String typeUrl) {
    return types.get(typeUrl);
  }

  /** The records of the types the stream has used, in no order; with the monitor held. */
  Collection<TypeRecord> typeRecords() {
    return Collections.unmodifiableCollection(types.values());
  }

  /** Records a state-of-the-world request. */
  synchronized void record(DiscoveryRequest request) {
    TypeRecord type = type(request.getTypeUrl());
    Instant now = clock.instant();
    if (request.getResponseNonce().isEmpty()
        || request.getResponseNonce().equals(type.lastSentNonce)) {
      // The cache watches with the names of a first request or of one answering its latest
      // response (also a repeated answer: Envoy changes its subscription that way); versions of
      // named types are over these names.
      type.requestedNames =
          RequestedNames.keep(type.requestedNames, request.getResourceNamesList());
    }
    if (request.getResponseNonce().isEmpty()) {
      // A first request. An Envoy that reconnects reports the version it runs; that is what it
      // has accepted.
      if (!request.getVersionInfo().isEmpty()) {
        type.acked(request.getVersionInfo(), now);
      }
      return;
    }
    if (!request.getResponseNonce().equals(type.latestNonce)) {
      // Answers a response that a newer one has superseded; Envoy will answer the newer one too.
      return;
    }
    type.latestNonce = null;
    if (request.hasErrorDetail()) {
      type.nacked(type.versionSent, request.getErrorDetail().getMessage(), now);
    } else {
      type.acked(request.getVersionInfo(), now);
      metrics.acked(type.typeUrl, Duration.between(type.sentAt, now));
    }
  }

  /** Records a state-of-the-world response, before it is written to the stream. */
  synchronized void sent(DiscoveryResponse response) {
    type(response.getTypeUrl())
        .sent(response.getVersionInfo(), response.getNonce(), clock.instant());
  }

  /** Records a delta request. */
  synchronized void record(DeltaDiscoveryRequest request) {
    TypeRecord type = type(request.getTypeUrl());
    type.subscribe(request);
    if (request.getResourceNamesSubscribeCount() > 0) {
      type.subscribedAt = ++messages;
    }
    if (request.getResponseNonce().isEmpty()) {
      // A first request (or a change of subscriptions). An Envoy that reconnects lists what it
      // already has; if that is current, nothing is sent, and the type is in sync although no
      // version is known.
      if (request.getInitialResourceVersionsCount() > 0) {
        Map<String, String> held = new HashMap<>();
        // A whole fleet reconnects at once with the same names: one copy of them for all.
        request
            .getInitialResourceVersionsMap()
            .forEach((name, version) -> held.put(TypeRecord.RESOURCE_NAMES.intern(name), version));
        type.held = Map.copyOf(held);
      }
      return;
    }
    TypeRecord.Sent sent = type.pendingDeltaVersions.remove(request.getResponseNonce());
    if (sent == null) {
      return;
    }
    // Delta answers every response in order, so anything older than this nonce is answered as
    // well.
    type.pendingDeltaVersions
        .keySet()
        .removeIf(nonce -> olderNonce(nonce, request.getResponseNonce()));
    if (type.pendingDeltaVersions.isEmpty()) {
      type.latestNonce = null;
    }
    Instant now = clock.instant();
    if (request.hasErrorDetail()) {
      type.nacked(sent.version(), request.getErrorDetail().getMessage(), now);
    } else {
      type.acked(sent.version(), now);
      metrics.acked(type.typeUrl, Duration.between(sent.at(), now));
    }
  }

  /** Records a delta response, before it is written to the stream. */
  synchronized void sent(DeltaDiscoveryResponse response) {
    TypeRecord type = type(response.getTypeUrl());
    List<String> endpointNames = null;
    if (response.getTypeUrl().equals(ENDPOINT_TYPE_URL)
        && response.getResourcesCount() <= TypeRecord.NAMES_KEPT_PER_DELIVERY) {
      endpointNames = new ArrayList<>(response.getResourcesCount());
      for (Resource resource : response.getResourcesList()) {
        endpointNames.add(resource.getName());
      }
    }
    type.sentDelta(
        response.getSystemVersionInfo(),
        response.getNonce(),
        clock.instant(),
        ++messages,
        endpointNames);
  }

  /** The response {@code nonce} of {@code typeUrl} was handed to the stream's call. */
  synchronized void written(String typeUrl, String nonce) {
    TypeRecord type = types.get(typeUrl);
    if (type != null) {
      type.written(nonce);
    }
  }

  /** The latest rejection of a type, if any. */
  synchronized Optional<Nack> lastNack(String typeUrl) {
    TypeRecord type = types.get(typeUrl);
    return type == null ? Optional.empty() : Optional.ofNullable(type.lastNack);
  }

  /** Whether the stream has closed ({@link #forget}); read on any thread. */
  volatile boolean closed;

  /** The stream has closed: its rejections no longer count. */
  synchronized void forget() {
    closed = true;
    types.values().forEach(TypeRecord::forget);
  }

  /** The stream's status as operators see it; with the monitor held. */
  ProxyStatus status(Instant now, Instant laggingBefore) {
    Map<String, TypeStatus> byType = new LinkedHashMap<>();
    new TreeMap<>(types).forEach((url, type) -> byType.put(url, type.status()));
    return new ProxyStatus(
        id,
        node,
        group,
        mode,
        connectedSince,
        overall(byType.values()),
        Collections.unmodifiableMap(byType),
        laggingSince(laggingBefore).map(since -> Duration.between(since, now)));
  }

  /**
   * When the oldest response still unanswered was sent, if that was before {@code laggingBefore};
   * with the monitor held.
   */
  Optional<Instant> laggingSince(Instant laggingBefore) {
    Instant oldest = null;
    for (TypeRecord type : types.values()) {
      Instant since = type.unansweredSince();
      if (since != null && (oldest == null || since.isBefore(oldest))) {
        oldest = since;
      }
    }
    return oldest != null && oldest.isBefore(laggingBefore)
        ? Optional.of(oldest)
        : Optional.empty();
  }

  private static SyncStatus overall(Iterable<TypeStatus> types) {
    boolean stale = false;
    boolean anySent = false;
    for (TypeStatus type : types) {
      if (type.status() == SyncStatus.NACKED) {
        return SyncStatus.NACKED;
      }
      stale |= type.status() == SyncStatus.STALE;
      anySent |= type.status() != SyncStatus.NOT_SENT;
    }
    return stale ? SyncStatus.STALE : anySent ? SyncStatus.SYNCED : SyncStatus.NOT_SENT;
  }

  /**
   * A delta stream numbers its responses 0, 1, 2, ... after a prefix of its own ({@code
   * DeltaAdsStream}; java-control-plane's streams without one).
   */
  static boolean olderNonce(String nonce, String than) {
    try {
      return counterOf(nonce) < counterOf(than);
    } catch (NumberFormatException e) {
      return false;
    }
  }

  private static long counterOf(String nonce) {
    return Long.parseLong(nonce.substring(nonce.lastIndexOf('-') + 1));
  }
}
