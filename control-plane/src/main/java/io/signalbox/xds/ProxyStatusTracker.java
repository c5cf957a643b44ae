package io.signalbox.xds;

import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.type.v3.SemanticVersion;
import io.signalbox.metrics.SignalboxMetrics;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * What every connected Envoy was sent and what it acknowledged, per resource type, from the xDS
 * messages of its stream: one {@link StreamRecord} per open stream, which tells an ACK from a NACK.
 *
 * <p>Responses are recorded before they are written to the stream (java-control-plane runs the
 * response callbacks first), so an ACK always finds its response. Requests of a stream arrive one
 * at a time, responses on the pipeline or a gRPC thread; each stream's record is guarded by its own
 * monitor, and reading takes a copy.
 */
public final class ProxyStatusTracker implements DeliveryCheck, NackQuarantine.Fleet {

  /**
   * How long a response may wait for its answer before the stream counts as lagging. Envoy answers
   * within milliseconds, and within about a hundred even for ten thousand routes.
   */
  public static final Duration DEFAULT_LAG_LIMIT = Duration.ofMillis(500);

  private final Clock clock;
  private final NodeGroups groups;
  private final SignalboxMetrics metrics;
  private final Duration lagLimit;
  private final Map<Long, StreamRecord> streams = new ConcurrentHashMap<>();

  /**
   * Open streams by node group, from a stream's first request to its close; a group with none is
   * absent. A staged change asks after one group's streams on every answer it waits for, and walked
   * the whole fleet's for it.
   */
  private final Map<String, Set<StreamRecord>> streamsByGroup = new ConcurrentHashMap<>();

  /**
   * How many streams each node id has open: a closed stream's Envoy is forgotten by the watcher
   * only once its last stream closes, and a fleet that drops at once walked every stream per close.
   */
  private final Map<String, Integer> streamsByNodeId = new ConcurrentHashMap<>();

  /** How many types of open streams have their latest response rejected. */
  private final AtomicInteger rejectedTypes = new AtomicInteger();

  /** Judges the open streams against snapshots, for {@link DeliveryCheck} and the quarantine. */
  private final SnapshotUptake uptake;

  public ProxyStatusTracker(NodeGroups groups, Clock clock) {
    this(groups, clock, SignalboxMetrics.noop(), DEFAULT_LAG_LIMIT);
  }

  /**
   * {@code metrics} is told how long each ACK took; a stream that leaves a response unanswered for
   * longer than {@code lagLimit} is lagging: it holds no staged change and no verdict back.
   */
  public ProxyStatusTracker(
      NodeGroups groups, Clock clock, SignalboxMetrics metrics, Duration lagLimit) {
    this.groups = groups;
    this.clock = clock;
    this.metrics = metrics;
    this.lagLimit = lagLimit;
    this.uptake =
        new SnapshotUptake(
            streams.values(),
            group -> streamsByGroup.getOrDefault(group, Set.of()),
            rejectedTypes,
            clock,
            lagLimit);
  }

  /** An xDS stream's sync status, per Envoy connection. */
  public enum SyncStatus {
    SYNCED,
    STALE,
    NACKED,
    NOT_SENT
  }

  public enum Mode {
    SOTW,
    DELTA
  }

  /**
   * One Envoy connection.
   *
   * @param types by type URL, sorted
   * @param laggingFor how long its oldest unanswered response has waited, when that is longer than
   *     the lag limit
   */
  public record ProxyStatus(
      long streamId,
      Node node,
      String group,
      Mode mode,
      Instant connectedSince,
      SyncStatus status,
      Map<String, TypeStatus> types,
      Optional<Duration> laggingFor) {

    /** Whether the stream left a response unanswered for longer than the lag limit. */
    public boolean lagging() {
      return laggingFor.isPresent();
    }

    public String nodeId() {
      return node.getId();
    }

    /**
     * "1.40.0" from the node's build version, else its free-form user agent version; empty if
     * neither is set.
     */
    public String envoyVersion() {
      if (node.hasUserAgentBuildVersion() && node.getUserAgentBuildVersion().hasVersion()) {
        SemanticVersion version = node.getUserAgentBuildVersion().getVersion();
        return version.getMajorNumber() + "." + version.getMinorNumber() + "." + version.getPatch();
      }
      return node.getUserAgentVersion();
    }
  }

  /**
   * One resource type on one stream.
   *
   * @param versionSent empty when nothing was sent
   * @param versionAcked empty when nothing was acknowledged
   * @param lastNack the latest rejection, kept after later ACKs for the record
   * @param requestedNames state of the world: the resource names of the latest request (empty:
   *     all), over which the versions of this type are computed; delta: empty
   */
  public record TypeStatus(
      String typeUrl,
      SyncStatus status,
      String versionSent,
      Optional<Instant> sentAt,
      String versionAcked,
      Optional<Instant> ackedAt,
      Optional<Nack> lastNack,
      List<String> requestedNames) {}

  public record Nack(String version, String errorDetail, Instant at) {}

  /**
   * Records a state-of-the-world request; whether it opened the stream's record (its first
   * request). A request of a stream that has closed meanwhile is not recorded.
   */
  public boolean onRequest(long streamId, DiscoveryRequest request) {
    return recorded(streamId, request.getNode(), Mode.SOTW, stream -> stream.record(request));
  }

  /**
   * Records a request with {@code record} on its stream's record, opening it for the stream's first
   * request; whether it did.
   */
  private boolean recorded(long streamId, Node node, Mode mode, Consumer<StreamRecord> record) {
    StreamRecord stream = streams.get(streamId);
    boolean opened = false;
    if (stream == null) {
      stream = opened(streamId, node, mode);
      if (stream == null) {
        return false;
      }
      opened = true;
    }
    record.accept(stream);
    uptake.changed(stream);
    return opened;
  }

  public void onResponse(long streamId, DiscoveryResponse response) {
    StreamRecord stream = streams.get(streamId);
    if (stream != null) {
      stream.sent(response);
      uptake.changed(stream);
    }
  }

  /** As {@link #onRequest} for a delta request. */
  public boolean onDeltaRequest(long streamId, DeltaDiscoveryRequest request) {
    return recorded(streamId, request.getNode(), Mode.DELTA, stream -> stream.record(request));
  }

  public void onDeltaResponse(long streamId, DeltaDiscoveryResponse response) {
    StreamRecord stream = streams.get(streamId);
    if (stream != null) {
      stream.sent(response);
      uptake.changed(stream);
    }
  }

  /**
   * The fleet's verdict on what each group was {@code sent}, judged on the streams' records as
   * {@link FleetVerdict#of} judges their statuses, when no Envoy has a rejection on record: it can
   * then only be accepted or pending, and needs neither every Envoy's status made nor the fleet
   * sorted (those cost 1.2 ms per publication at 1,000 Envoys and 3 ms at 5,000, measured in
   * process, and several times that while the fleet is being sent a change). Stops at the first
   * type still pending, so while a change is being answered it costs a lookup or two; and judges
   * only the streams whose records changed or whose groups were sent something ({@link #groupSent})
   * since the last verdict, so it is asked of what the groups were sent last. Empty when a
   * rejection is on record: the verdict then needs every Envoy's status.
   */
  @Override
  public Optional<FleetVerdict.Kind> verdictWithoutRejections(
      Function<String, ContentVersionedSnapshot> sent) {
    return uptake.verdictWithoutRejections(sent);
  }

  /**
   * The fleet split for a verdict while a rejection is on record ({@link FleetVerdict.Split}): only
   * the statuses of the Envoys with a rejected type are made (at 5,000 Envoys, every status made
   * and sorted cost about 3 ms before every publication, for as long as one Envoy kept rejecting).
   */
  @Override
  public Optional<FleetVerdict.Split> splitByRejections(
      Function<String, ContentVersionedSnapshot> sent) {
    return Optional.of(uptake.splitByRejections(sent));
  }

  /**
   * The Envoys of {@code group} were sent a new snapshot: the next verdict judges their streams
   * again ({@link #verdictWithoutRejections} judges only the streams whose records or groups
   * changed since the last).
   */
  @Override
  public void groupSent(String group) {
    uptake.groupSent(group);
  }

  /**
   * The response {@code nonce} of {@code typeUrl} was handed to the stream's call: whatever is sent
   * on the stream from now on reaches Envoy after it. Any thread.
   */
  public void written(long streamId, String typeUrl, String nonce) {
    StreamRecord stream = streams.get(streamId);
    if (stream != null) {
      stream.written(typeUrl, nonce);
    }
  }

  /** The latest rejection of a type on a stream, if any. */
  public Optional<Nack> lastNack(long streamId, String typeUrl) {
    StreamRecord stream = streams.get(streamId);
    return stream == null ? Optional.empty() : stream.lastNack(typeUrl);
  }

  /**
   * Whether every Envoy of {@code group} that asks for this type has applied it as the given
   * snapshot has it, so that a next step may rely on it (make-before-break): SotW — its newest
   * request names every {@code required} resource (or asks for all) and acknowledges the version
   * the snapshot gives for those names, with no response in flight; delta — it subscribes to every
   * required resource (or to all) and has acknowledged the snapshot's type version, with no
   * response in flight. A stream that never asked for the type, or rejected its latest response,
   * holds nothing up: waiting for it would be waiting for nothing. Nor does a lagging stream (one
   * that left a response unanswered for longer than the lag limit): a hung Envoy, a paused VM or a
   * client that does not read would otherwise set the pace for the whole fleet. It is sent the
   * newest configuration when it answers.
   */
  @Override
  public boolean applied(
      String group,
      ResourceType resourceType,
      Set<String> required,
      ContentVersionedSnapshot snapshot) {
    return uptake.applied(group, resourceType, required, snapshot);
  }

  /**
   * As {@link #applied}, or else the {@code required} resources were written to the stream after
   * Envoy asked for them ({@link TypeRecord#delivered}), for endpoints: whatever is sent after them
   * on the stream reaches Envoy after them (make-before-break by order, {@link
   * MakeBeforeBreak.Until#DELIVERED}).
   */
  @Override
  public boolean delivered(
      String group,
      ResourceType resourceType,
      Set<String> required,
      ContentVersionedSnapshot snapshot) {
    return uptake.delivered(group, resourceType, required, snapshot);
  }

  /** A stream that left a response unanswered for longer than the lag limit. */
  public record LaggingStream(long streamId, Node node, String group, Duration laggingFor) {}

  /** A stream the control plane ended because it lagged too long. */
  public record CutOffStream(
      long streamId, Node node, String group, Duration laggedFor, Instant at) {}

  /** How many cut-off streams are remembered for operators. */
  static final int CUT_OFFS_REMEMBERED = 50;

  private final java.util.ArrayDeque<CutOffStream> cutOffs = new java.util.ArrayDeque<>();

  /** Every lagging stream, in no particular order; cheaper than {@link #proxies()}. */
  public List<LaggingStream> laggingStreams() {
    List<LaggingStream> lagging = new ArrayList<>();
    Instant now = clock.instant();
    Instant laggingBefore = now.minus(lagLimit);
    for (StreamRecord stream : streams.values()) {
      synchronized (stream) {
        stream
            .laggingSince(laggingBefore)
            .ifPresent(
                since ->
                    lagging.add(
                        new LaggingStream(
                            stream.id, stream.node, stream.group, Duration.between(since, now))));
      }
    }
    return lagging;
  }

  /** Remembers that a stream was cut off, for {@link #recentCutOffs()}. */
  public void cutOff(CutOffStream stream) {
    // Before the stream is ended: a request of it being handled meanwhile cannot open it again.
    cutOffIds.put(stream.streamId(), Boolean.TRUE);
    synchronized (cutOffs) {
      if (cutOffs.size() == CUT_OFFS_REMEMBERED) {
        cutOffs.removeFirst();
      }
      cutOffs.addLast(stream);
    }
  }

  /** The streams cut off most recently, oldest first. */
  public List<CutOffStream> recentCutOffs() {
    synchronized (cutOffs) {
      return List.copyOf(cutOffs);
    }
  }

  /** Forgets the stream; returns the node it belonged to, if it had sent a request. */
  public Optional<Node> onStreamClosed(long streamId) {
    StreamRecord stream = streams.remove(streamId);
    if (stream == null) {
      return Optional.empty();
    }

    streamsByGroup.computeIfPresent(
        stream.group,
        (group, open) -> {
          open.remove(stream);
          return open.isEmpty() ? null : open;
        });
    streamsByNodeId.computeIfPresent(
        stream.node.getId(), (id, open) -> open <= 1 ? null : open - 1);
    stream.forget();
    uptake.closed(stream);
    return Optional.of(stream.node);
  }

  /** Whether any open stream belongs to the node. */
  public boolean connected(String nodeId) {
    return streamsByNodeId.containsKey(nodeId);
  }

  /** By node id, then by connection time. */
  static final Comparator<ProxyStatus> STATUS_ORDER =
      Comparator.comparing(ProxyStatus::nodeId)
          .thenComparing(ProxyStatus::connectedSince)
          .thenComparingLong(ProxyStatus::streamId);

  /** Every open stream that has sent a request, sorted by node id, then by connection time. */
  public List<ProxyStatus> proxies() {
    List<ProxyStatus> proxies = new ArrayList<>();
    Instant now = clock.instant();
    for (StreamRecord stream : streams.values()) {
      synchronized (stream) {
        proxies.add(stream.status(now, now.minus(lagLimit)));
      }
    }
    proxies.sort(STATUS_ORDER);
    return proxies;
  }

  /**
   * Streams cut off lately. A stream's requests and its close reach the tracker one at a time, but
   * a cut-off ({@link LaggingStreams}) ends a stream from another thread: a request of it being
   * handled meanwhile would open its record again, a stream that never closes (its group then never
   * forgotten). Such a request comes within milliseconds: a cut-off stream is remembered for a
   * minute, however many others are cut off meanwhile (a fleet that stalled at once), and their
   * count stays bounded. Only cut-offs: an Envoy's own close never races its requests.
   */
  private final com.google.common.cache.Cache<Long, Boolean> cutOffIds =
      com.google.common.cache.CacheBuilder.newBuilder()
          .expireAfterWrite(java.time.Duration.ofMinutes(1))
          .maximumSize(1 << 16)
          .build();

  /** The record of a stream's first request; null for a stream that has closed. */
  private StreamRecord opened(long streamId, Node node, Mode mode) {
    // Envoy sends the node in the first request of a stream at least; later requests may leave it
    // out.
    return streams.computeIfAbsent(
        streamId,
        id -> {
          if (cutOffIds.getIfPresent(id) != null) {
            return null;
          }
          StreamRecord stream =
              new StreamRecord(id, node, groups.hash(node), mode, rejectedTypes, clock, metrics);
          // Before it is open: a verdict never takes it for one that holds what it was sent.
          uptake.changed(stream);
          streamsByGroup.compute(
              stream.group,
              (group, open) -> {
                Set<StreamRecord> streams = open != null ? open : ConcurrentHashMap.newKeySet();
                streams.add(stream);
                return streams;
              });
          streamsByNodeId.merge(node.getId(), 1, Integer::sum);
          return stream;
        });
  }

  /**
   * Whether an open stream belongs to {@code group}: counted from the stream's first request, which
   * is recorded before the group is told of it ({@link XdsCallbacks}), to its close.
   */
  public boolean hasStreams(String group) {
    return streamsByGroup.containsKey(group);
  }

  /** How many streams of {@code group} are open, counted as {@link #hasStreams} says. */
  public int openStreams(String group) {
    return streamsByGroup.getOrDefault(group, Set.of()).size();
  }
}
