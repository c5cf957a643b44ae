package io.signalbox.xds;

import com.google.common.collect.Interner;
import com.google.common.collect.Interners;
import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.controlplane.cache.VersionedResource;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.signalbox.envoy.XdsTypes;
import io.signalbox.xds.ProxyStatusTracker.Nack;
import io.signalbox.xds.ProxyStatusTracker.SyncStatus;
import io.signalbox.xds.ProxyStatusTracker.TypeStatus;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What one stream was sent and answered of one resource type, kept in the stream's {@link
 * StreamRecord} and guarded by its monitor.
 */
final class TypeRecord {

  /**
   * Every stream subscribes to (mostly) the same names, each parsed into its own strings: one copy
   * for all, or 10,000 names cost every stream about half a megabyte more.
   */
  static final Interner<String> RESOURCE_NAMES = Interners.newWeakInterner();

  /**
   * The endpoint responses written to a delta stream whose names are kept for {@link #delivered}:
   * the few since Envoy last subscribed, a stage's new assignments among them.
   */
  private static final int DELIVERIES_KEPT = 4;

  /** Responses carrying more assignments than this (an initial sync) are not kept by name. */
  static final int NAMES_KEPT_PER_DELIVERY = 64;

  /**
   * A delta response waiting for its answer.
   *
   * @param position where it came among the stream's messages
   * @param endpointNames the assignments it carries, when few (else null)
   */
  record Sent(String version, Instant at, long position, List<String> endpointNames) {}

  /** Assignments written to a delta stream, and where among its messages. */
  private record Delivery(long position, List<String> names) {}

  final String typeUrl;

  /** The type Signalbox serves under {@link #typeUrl}; null for one it does not. */
  final ResourceType resourceType;

  /** Delta: versions (and send times) of responses not answered yet, by nonce. */
  final Map<String, Sent> pendingDeltaVersions = new LinkedHashMap<>();

  String versionSent = "";
  Instant sentAt;

  /** Nonce of the latest response while it is unanswered. */
  String latestNonce;

  /** Nonce of the latest response. */
  String lastSentNonce;

  String versionAcked = "";
  Instant ackedAt;
  Nack lastNack;

  /** The latest response was rejected (and nothing was sent since). */
  boolean rejected;

  /**
   * The tracker's count of rejected types, kept by {@link #rejected(boolean)}; null once the stream
   * is forgotten.
   */
  private AtomicInteger rejectedTypes;

  /**
   * Delta: the resource versions Envoy said it holds when it reconnected. Until something is sent
   * on the stream, they are what it runs: the cache sends nothing when they are current.
   */
  Map<String, String> held = Map.of();

  /**
   * SotW: the names the cache watches with (empty: all of them); versions of named types are over
   * them.
   */
  List<String> requestedNames = List.of();

  /**
   * Delta: the resource names subscribed to, unless {@link #wildcard}; shared with the streams that
   * subscribed the same way.
   */
  SharedSubscriptions subscribed = SharedSubscriptions.NONE;

  boolean wildcard;

  /** Delta: where, among the stream's messages, Envoy last subscribed to names of this type. */
  long subscribedAt;

  /** SotW: whether the latest response has been written to the stream. */
  private boolean latestWritten;

  /** Delta endpoints: the latest responses written to the stream, by name. */
  private final ArrayDeque<Delivery> deliveries = new ArrayDeque<>();

  TypeRecord(String typeUrl, AtomicInteger rejectedTypes) {
    this.typeUrl = typeUrl;
    this.resourceType = XdsTypes.resourceType(typeUrl).orElse(null);
    this.rejectedTypes = rejectedTypes;
  }

  /** The stream is forgotten: its rejection, if any, no longer counts. */
  void forget() {
    rejected(false);
    rejectedTypes = null;
  }

  private void rejected(boolean now) {
    if (now != rejected && rejectedTypes != null) {
      rejectedTypes.addAndGet(now ? 1 : -1);
    }
    rejected = now;
  }

  void subscribe(DeltaDiscoveryRequest request) {
    boolean subscribesNothing =
        request.getResourceNamesSubscribeCount() == 0
            && request.getInitialResourceVersionsCount() == 0;
    if (subscribesNothing && request.getResponseNonce().isEmpty() && subscribed.isEmpty()) {
      wildcard = true;
    }
    if (subscribesNothing && request.getResourceNamesUnsubscribeCount() == 0) {
      // An ACK, nearly always (every Envoy's every answer): nothing to parse or copy.
      return;
    }
    List<String> subscribe = new ArrayList<>(request.getResourceNamesSubscribeCount());
    for (String name : request.getResourceNamesSubscribeList()) {
      if (name.equals("*")) {
        wildcard = true;
      } else {
        subscribe.add(RESOURCE_NAMES.intern(name));
      }
    }
    List<String> unsubscribe =
        request.getResourceNamesUnsubscribeList().stream().map(RESOURCE_NAMES::intern).toList();
    subscribed =
        subscribed
            .change(subscribe, unsubscribe)
            .change(
                request.getInitialResourceVersionsMap().keySet().stream()
                    .map(RESOURCE_NAMES::intern)
                    .toList(),
                List.of());
  }

  /**
   * Whether Envoy resumed this type holding exactly what the snapshot has (of what it subscribes
   * to) and was sent nothing since. CDS and LDS are wildcard in the cache whatever the subscription
   * says.
   */
  boolean holdsResumed(ResourceType resourceType, ContentVersionedSnapshot snapshot) {
    if (sentAt != null || held.isEmpty()) {
      return false;
    }
    boolean allOfType =
        wildcard || resourceType == ResourceType.CLUSTER || resourceType == ResourceType.LISTENER;
    Map<String, String> expected = new HashMap<>();
    @SuppressWarnings("unchecked")
    Map<String, VersionedResource<?>> resources = snapshot.versionedResources(resourceType);
    resources.forEach(
        (name, resource) -> {
          if (allOfType || subscribed.contains(name)) {
            expected.put(name, resource.version());
          }
        });
    return held.equals(expected);
  }

  /** When the oldest response not answered yet was sent; null when every one is answered. */
  Instant unansweredSince() {
    if (!pendingDeltaVersions.isEmpty()) {
      return pendingDeltaVersions.values().iterator().next().at();
    }
    return latestNonce != null ? sentAt : null;
  }

  /** A delta response, the {@code position}th message of its stream. */
  void sentDelta(String version, String nonce, Instant at, long position, List<String> names) {
    sent(version, nonce, at);
    pendingDeltaVersions.put(nonce, new Sent(version, at, position, names));
  }

  /** The response {@code nonce} was handed to the stream, after everything sent on it before. */
  void written(String nonce) {
    if (nonce.equals(lastSentNonce)) {
      latestWritten = true;
    }
    Sent sent = pendingDeltaVersions.get(nonce);
    if (sent != null && sent.endpointNames() != null) {
      if (deliveries.size() == DELIVERIES_KEPT) {
        deliveries.removeFirst();
      }
      deliveries.addLast(new Delivery(sent.position(), sent.endpointNames()));
    }
  }

  /**
   * Whether Envoy has applied this type as a snapshot has it, {@code version} being the snapshot's
   * version over the names asked for. SotW: its newest request names every {@code required}
   * resource (or asks for all) and acknowledges that version, with no response in flight. Delta: it
   * subscribes to every required resource (or to all) and has acknowledged the snapshot's type
   * version (or resumed holding what the snapshot has), with no response in flight.
   */
  boolean applied(
      ProxyStatusTracker.Mode mode,
      ResourceType resourceType,
      Set<String> required,
      String version,
      ContentVersionedSnapshot snapshot) {
    if (mode == ProxyStatusTracker.Mode.SOTW) {
      List<String> names = requestedNames;
      return latestNonce == null
          && (names.isEmpty() || names.containsAll(required))
          && versionAcked.equals(version);
    }
    return pendingDeltaVersions.isEmpty()
        && (wildcard || subscribed.containsAll(required))
        && (versionAcked.equals(version) || holdsResumed(resourceType, snapshot));
  }

  /**
   * Whether the {@code required} resources were written to this stream in answer to Envoy asking
   * for them, so that anything sent from now on reaches Envoy after them. SotW: it asks for them,
   * and the latest response, the snapshot's version over the names it asks for, is written (a
   * response is made for the names of the request it answers). Delta: each is in one of the latest
   * responses written after Envoy last subscribed to anything.
   */
  boolean delivered(
      ProxyStatusTracker.Mode mode, Set<String> required, String versionOverRequestedNames) {
    // Only for Envoys that ask for endpoints by name, as Envoy does: one that asks for all of them
    // could have been sent the new ones before it had their clusters.
    if (mode == ProxyStatusTracker.Mode.SOTW) {
      return latestWritten
          && requestedNames.containsAll(required)
          && versionSent.equals(versionOverRequestedNames);
    }
    if (wildcard) {
      return false;
    }
    for (String name : required) {
      boolean found = false;
      for (Delivery delivery : deliveries) {
        if (delivery.position() > subscribedAt && delivery.names().contains(name)) {
          found = true;
          break;
        }
      }
      if (!found) {
        return false;
      }
    }
    return true;
  }

  void sent(String version, String nonce, Instant at) {
    latestWritten = false;
    versionSent = version;
    sentAt = at;
    latestNonce = nonce;
    lastSentNonce = nonce;
    rejected(false);
  }

  void acked(String version, Instant at) {
    versionAcked = version;
    ackedAt = at;
  }

  void nacked(String version, String detail, Instant at) {
    lastNack = new Nack(version, detail, at);
    rejected(true);
  }

  SyncStatus syncStatus() {
    if (sentAt == null) {
      // Nothing sent on this stream: in sync only if Envoy said it holds a version the cache saw
      // no need to replace (a reconnect).
      return !versionAcked.isEmpty() || !held.isEmpty() ? SyncStatus.SYNCED : SyncStatus.NOT_SENT;
    }
    if (latestNonce != null) {
      return SyncStatus.STALE;
    }
    return rejected ? SyncStatus.NACKED : SyncStatus.SYNCED;
  }

  TypeStatus status() {
    return new TypeStatus(
        typeUrl,
        syncStatus(),
        versionSent,
        Optional.ofNullable(sentAt),
        versionAcked,
        Optional.ofNullable(ackedAt),
        Optional.ofNullable(lastNack),
        requestedNames);
  }
}
