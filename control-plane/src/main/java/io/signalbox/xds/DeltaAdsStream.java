package io.signalbox.xds;

import io.envoyproxy.controlplane.cache.DeltaResponse;
import io.envoyproxy.controlplane.cache.DeltaWatch;
import io.envoyproxy.controlplane.cache.DeltaXdsRequest;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.controlplane.cache.VersionedResource;
import io.envoyproxy.controlplane.server.exception.RequestException;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One delta ADS stream: what java-control-plane's {@code AdsDeltaDiscoveryRequestStreamObserver}
 * does, with the tracked versions kept as differences from the snapshot ({@link TrackedVersions})
 * instead of a map of every name per stream and type.
 *
 * <p>Requests arrive one at a time on the stream's gRPC thread; responses are sent from there (a
 * watch answered at once) or from the publisher (a new snapshot). As in the library, a watch of a
 * type is opened only when no response of that type awaits its answer, so a stream never holds more
 * than one response per type, and an ACK names the response it accepts by its nonce.
 */
final class DeltaAdsStream implements StreamObserver<DeltaDiscoveryRequest> {

  private static final Logger log = LoggerFactory.getLogger(DeltaAdsStream.class);

  /** One type's state on the stream. */
  private static final class TypeState {
    final ResourceType type;
    final TrackedVersions tracked = new TrackedVersions();

    /**
     * Names subscribed to and not yet acknowledged, and those rejected and not sent since; read by
     * the publisher with lookups only (and iteration of the rejected ones).
     */
    final PendingNames pending = new PendingNames();

    /** Responses sent and not yet answered, by nonce. */
    final Map<String, DeltaResponse> awaitingAnswer = new ConcurrentHashMap<>();

    /**
     * Names to be sent again although held or on their way (a remade cluster's endpoints): they
     * stay pending until a response carrying them is sent, whatever earlier response is answered
     * meanwhile.
     */
    final Set<String> resend = ConcurrentHashMap.newKeySet();

    volatile String latestVersion = "";
    DeltaWatch watch; // guarded by this
    DeltaDiscoveryRequest watchRequest; // guarded by this

    TypeState(ResourceType type) {
      this.type = type;
    }
  }

  private final long streamId;
  private final StreamObserver<DeltaDiscoveryResponse> responses;
  private final DeltaAdsServer server;
  private final AtomicLong nonces = new AtomicLong();

  /**
   * Begins every nonce with an unguessable part of its own, the count's keyed hash under a key of
   * the stream's: only a client that reads a response can answer it, so one that does not read has
   * one response per type outstanding and opens no more watches (with counted nonces it could
   * acknowledge responses unread and have them sent without end). The count after it orders a
   * stream's nonces ({@code StreamRecord.olderNonce}). A keyed hash, not a random number per
   * response: the system's secure random source serialises every caller on one lock.
   */
  private final com.google.common.hash.HashFunction nonceKey =
      com.google.common.hash.Hashing.sipHash24(NONCE_SOURCE.nextLong(), NONCE_SOURCE.nextLong());

  private static final java.security.SecureRandom NONCE_SOURCE = new java.security.SecureRandom();

  private final Map<String, TypeState> types = new ConcurrentHashMap<>();

  /** As in the library: set by a CDS response, cleared by an EDS one (see the cache). */
  private volatile boolean hasClusterChanged;

  private volatile String group;
  private boolean closing; // guarded by responses
  private final AtomicBoolean ended = new AtomicBoolean();

  /**
   * How many more names of a type a stream may wait for than the group's configuration holds: names
   * it subscribes to that are not (yet) there.
   */
  static final int MAX_NAMES_NOT_HELD = 1_000;

  /** Names of a type a stream may always wait for: ten times the default service quota. */
  static final int NAMES_ALWAYS_ALLOWED = 100_000;

  /** Set before the watches are cancelled: no watch is opened after. */
  private volatile boolean watchesCancelled;

  DeltaAdsStream(
      long streamId, StreamObserver<DeltaDiscoveryResponse> responses, DeltaAdsServer server) {
    this.streamId = streamId;
    this.responses = responses;
    this.server = server;
  }

  @Override
  public void onNext(DeltaDiscoveryRequest request) {
    if (ended.get()) {
      // Requests still queued when the server ended the stream: the close callbacks ran, and a
      // callback now would bring the stream back to life in the status tracker.
      return;
    }
    String typeUrl = request.getTypeUrl();
    if (typeUrl.isEmpty()) {
      closeWithError(
          Status.INVALID_ARGUMENT
              .withDescription("type_url is required on an ADS stream")
              .asRuntimeException());
      return;
    }
    if (asksTooMuch(request, typeUrl)) {
      return;
    }
    try {
      server.runRequestCallbacks(streamId, request);
    } catch (RequestException e) {
      onError(e);
      return;
    }
    ResourceType type = Resources.TYPE_URLS_TO_RESOURCE_TYPE.get(typeUrl);
    if (type == null) {
      closeWithError(
          Status.INVALID_ARGUMENT
              .withDescription("type_url " + typeUrl + " is not served by Signalbox")
              .asRuntimeException());
      return;
    }
    if (group == null && request.hasNode()) {
      group = server.group(request.getNode());
    }
    TypeState state = types.computeIfAbsent(typeUrl, url -> new TypeState(type));
    if (!request.getResponseNonce().isEmpty()) {
      // Held before it leaves the responses on their way: a cluster remade meanwhile finds its
      // assignment in one or the other (resendEndpointsOfRemadeClusters).
      DeltaResponse answered = state.awaitingAnswer.get(request.getResponseNonce());
      if (answered != null && !request.hasErrorDetail()) {
        holdAcknowledged(state, answered);
      } else if (answered != null) {
        holdRejected(state, answered);
      }
      state.awaitingAnswer.remove(request.getResponseNonce());
    }
    // After the acknowledgement, which answers an earlier response: a name unsubscribed now is
    // not held, even if that response carried it.
    for (String name : request.getResourceNamesUnsubscribeList()) {
      state.tracked.remove(name);
      state.pending.remove(name);
      state.pending.rejected().remove(name);
      state.resend.remove(name);
    }
    // Answered, rejected or unsubscribed from: a large subscription drained gives its room back.
    state.pending.compactIfDrained();
    state.pending.addAll(request.getResourceNamesSubscribeList());
    if (state.awaitingAnswer.isEmpty()) {
      openWatch(state, request, typeUrl);
    }
  }

  /**
   * Whether {@code request} would have the stream wait for too many names of its type, and so ended
   * it: names no configuration holds would wait here, and in the status tracker, for ever. A client
   * may ask for a few (Envoy does, for a moment), not for millions. Checked before anything of the
   * request is recorded, counting the names it says it holds too.
   */
  private boolean asksTooMuch(DeltaDiscoveryRequest request, String typeUrl) {
    int asked =
        request.getResourceNamesSubscribeCount() + request.getInitialResourceVersionsCount();
    ResourceType type = Resources.TYPE_URLS_TO_RESOURCE_TYPE.get(typeUrl);
    if (asked == 0 || type == null) {
      return false;
    }
    String of = group != null ? group : request.hasNode() ? server.group(request.getNode()) : null;
    Map<String, ? extends VersionedResource<?>> held =
        of == null ? null : server.currentResources(of, type);
    // Never below what a large registry holds: an Envoy that reconnects after its services went
    // (a registry restored empty, say) asks again for every name it held, and must not be cut off.
    int bound = Math.max(held == null ? 0 : held.size(), NAMES_ALWAYS_ALLOWED) + MAX_NAMES_NOT_HELD;
    TypeState state = types.get(typeUrl);
    if ((state == null ? 0 : state.pending.size()) + asked <= bound) {
      return false;
    }
    closeWithError(
        Status.RESOURCE_EXHAUSTED
            .withDescription(
                "resource_names_subscribe: the stream waits for more than "
                    + bound
                    + " "
                    + type.name().toLowerCase(java.util.Locale.ROOT)
                    + " names, "
                    + MAX_NAMES_NOT_HELD
                    + " more than the configuration holds or "
                    + NAMES_ALWAYS_ALLOWED
                    + ", the most a stream may")
            .asRuntimeException());
    return true;
  }

  private void holdAcknowledged(TypeState state, DeltaResponse answered) {
    Map<String, ? extends VersionedResource<?>> base = server.currentResources(group, state.type);
    state.tracked.acknowledged(
        answered.resources(), answered.removedResources(), base, server::changesBetween);
    notPending(state, answered);
    if (base != null) {
      // A rejected resource since removed is never sent again: it would stay here for good.
      state.pending.rejected().removeIf(name -> !base.containsKey(name));
    }
  }

  /**
   * A rejected response's resources are sent again with the stream's next answer of their type, not
   * at once ({@link PendingNames}): left pending, a name subscribed to was sent again at once, and
   * for ever to an Envoy that rejects it each time. Meanwhile they count as held at the versions
   * rejected. Envoy applies the valid resources of a response it rejects and keeps the others as
   * they were, so the removal of any of them is sent (Envoy ignores the removal of one it never
   * took).
   */
  private static void holdRejected(TypeState state, DeltaResponse rejected) {
    state.pending.rejected().addAll(rejected.resources().keySet());
    hold(state, rejected);
  }

  /**
   * Counts {@code answered}'s resources as held at the versions it carried, and no longer pending
   * ({@link #notPending}).
   */
  private static void hold(TypeState state, DeltaResponse answered) {
    answered.resources().forEach((name, resource) -> state.tracked.put(name, resource.version()));
    notPending(state, answered);
  }

  /**
   * {@code answered}'s resources are no longer pending, but for a remade cluster's assignment,
   * which still goes out again ({@link #resendEndpointsOfRemadeClusters}).
   */
  private static void notPending(TypeState state, DeltaResponse answered) {
    for (String name : answered.resources().keySet()) {
      if (!state.resend.contains(name)) {
        state.pending.remove(name);
      }
    }
  }

  private void openWatch(TypeState state, DeltaDiscoveryRequest request, String typeUrl) {
    synchronized (state) {
      if (state.watch != null) {
        state.watch.cancel();
      }
      if (watchesCancelled) {
        // The stream has ended: a watch opened now (by a publication's answer on its way out)
        // would outlive it, and keep its group from being forgotten.
        return;
      }
      state.watchRequest = request;
      state.watch =
          server.watch(
              DeltaXdsRequest.create(request),
              state.latestVersion,
              state.tracked,
              state.pending,
              isWildcard(state.type),
              response -> send(state, typeUrl, response),
              hasClusterChanged);
    }
  }

  /** As the library decides: clusters and listeners are always subscribed to by wildcard. */
  private static boolean isWildcard(ResourceType type) {
    return type == ResourceType.CLUSTER || type == ResourceType.LISTENER;
  }

  private void send(TypeState state, String typeUrl, DeltaResponse response) {
    long count = nonces.getAndIncrement();
    String nonce = Long.toHexString(nonceKey.hashLong(count).asLong()) + "-" + count;
    DeltaDiscoveryResponse.Builder builder =
        DeltaDiscoveryResponse.newBuilder()
            .setTypeUrl(typeUrl)
            .setSystemVersionInfo(response.version())
            .setNonce(nonce);
    // Added one by one: a list of them first would be copied into the message's own.
    response
        .resources()
        .forEach((name, resource) -> builder.addResources(server.resource(name, resource)));
    DeltaDiscoveryResponse discoveryResponse =
        builder.addAllRemovedResources(response.removedResources()).build();
    // Before the response leaves: its answer may come back, and change what is held, before onNext
    // returns. Not a rejected cluster sent again as it was: Envoy does not make an unchanged one
    // anew.
    Set<String> remade =
        state.type != ResourceType.CLUSTER
            ? Set.of()
            // Holding none, every cluster sent is made anew; the names are not copied per stream.
            : state.tracked.holdsNothing()
                ? response.resources().keySet()
                : response.resources().entrySet().stream()
                    .filter(
                        sent -> !sent.getValue().version().equals(state.tracked.get(sent.getKey())))
                    .map(Map.Entry::getKey)
                    .collect(java.util.stream.Collectors.toSet());
    server.runResponseCallbacks(streamId, response.request().v3Request(), discoveryResponse);
    // Recorded before sending: the answer may come back before onNext returns.
    state.awaitingAnswer.put(nonce, response);
    state.resend.removeAll(response.resources().keySet());
    state.pending.rejected().removeAll(response.resources().keySet());
    state.latestVersion = response.version();
    if (state.type == ResourceType.CLUSTER) {
      hasClusterChanged = true;
    } else if (state.type == ResourceType.ENDPOINT) {
      hasClusterChanged = false;
    }
    synchronized (responses) {
      if (!closing) {
        try {
          responses.onNext(discoveryResponse);
        } catch (StatusRuntimeException e) {
          if (e.getStatus().getCode() != Status.Code.CANCELLED) {
            throw e;
          }
        }
      }
    }
    if (!remade.isEmpty()) {
      resendEndpointsOfRemadeClusters(remade);
    }
  }

  /**
   * Envoy makes a changed cluster anew, and the new one waits, warming, for its endpoints, which it
   * already subscribes to and so does not ask for again: an unchanged assignment would never come,
   * and the cluster would warm until Envoy's fetch timeout (15 s), holding the stream's later
   * cluster changes back, and then serve with no endpoints. So the assignments of the clusters a
   * CDS response changes are sent again, after it, as if newly subscribed.
   */
  private void resendEndpointsOfRemadeClusters(Set<String> clusters) {
    TypeState endpoints = types.get(Resources.V3.ENDPOINT_TYPE_URL);
    if (endpoints == null) {
      return;
    }
    boolean remade = false;
    for (String cluster : clusters) {
      // Held, or on its way in a response not answered yet: either way Envoy asks for it no more.
      if (endpoints.tracked.containsKey(cluster)
          || endpoints.awaitingAnswer.values().stream()
              .anyMatch(unanswered -> unanswered.resources().containsKey(cluster))) {
        endpoints.resend.add(cluster);
        endpoints.pending.add(cluster);
        remade = true;
      }
    }
    if (!remade) {
      return;
    }
    DeltaDiscoveryRequest request;
    synchronized (endpoints) {
      request = endpoints.watchRequest;
    }
    // With an EDS response unanswered, the watch opened on its answer sends them.
    if (request != null && endpoints.awaitingAnswer.isEmpty()) {
      openWatch(endpoints, request, Resources.V3.ENDPOINT_TYPE_URL);
    }
  }

  @Override
  public void onError(Throwable error) {
    if (Status.fromThrowable(error).getCode() != Status.Code.CANCELLED) {
      log.warn("Delta xDS stream {} closed with an error", streamId, error);
    }
    closeWithError(Status.fromThrowable(error).asException());
  }

  @Override
  public void onCompleted() {
    try {
      if (ended.compareAndSet(false, true)) {
        server.runCloseCallbacks(streamId);
      }
      synchronized (responses) {
        if (!closing) {
          closing = true;
          responses.onCompleted();
        }
      }
    } finally {
      cancelWatches();
    }
  }

  void onCancelled() {
    log.debug("Delta xDS stream {} cancelled", streamId);
    cancelWatches();
  }

  /**
   * Ends the stream, from either side. The close callbacks run once, also when the server ends it:
   * gRPC tells the request observer nothing then, and the stream's proxy would stay connected in
   * the status tracker.
   */
  private void closeWithError(Throwable error) {
    try {
      if (ended.compareAndSet(false, true)) {
        server.runCloseWithErrorCallbacks(streamId, error);
      }
      synchronized (responses) {
        if (!closing) {
          closing = true;
          responses.onError(error);
        }
      }
    } finally {
      cancelWatches();
    }
  }

  private void cancelWatches() {
    watchesCancelled = true;
    for (TypeState state : types.values()) {
      synchronized (state) {
        if (state.watch != null) {
          state.watch.cancel();
        }
      }
    }
  }
}
