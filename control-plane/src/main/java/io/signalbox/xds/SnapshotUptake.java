package io.signalbox.xds;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.signalbox.envoy.XdsTypes;
import io.signalbox.xds.ProxyStatusTracker.Mode;
import io.signalbox.xds.ProxyStatusTracker.ProxyStatus;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * How far the open streams have taken up a snapshot: whether every Envoy of a group has applied a
 * type of it, or been delivered it in order (make-before-break), and the fleet's verdict on what
 * each group was sent while no rejection is on record (the quarantine). Judged on the streams'
 * records directly, each under its own monitor; a lagging stream neither holds a step back nor
 * decides a verdict.
 *
 * <p>A class of its own because these judgements read every stream's record against a snapshot, a
 * job apart from keeping the records: {@link ProxyStatusTracker} keeps them, and answers {@link
 * DeliveryCheck} and the quarantine's {@link NackQuarantine.Fleet} through this.
 */
final class SnapshotUptake {

  /** The tracker's open streams, a live view. */
  private final Collection<StreamRecord> streams;

  /** The open streams of a node group, a live view. */
  private final Function<String, Collection<StreamRecord>> streamsOf;

  /**
   * The open streams that may not hold what their group was sent: every other stream held it at a
   * verdict, and neither its record nor its group's snapshot has changed since. So a verdict judges
   * the streams a change touched, not the fleet's every one (about 0.6 µs a stream, 1.8 ms before
   * each publication at 3,000 sidecars). The verdict is always asked of what the groups were sent
   * last (the publication just sent, or a trial), so a group's snapshot changes for the verdict
   * only when it is sent one ({@link #groupSent}).
   */
  private final Set<StreamRecord> unsure = ConcurrentHashMap.newKeySet();

  /** The tracker's count of rejected types on open streams. */
  private final AtomicInteger rejectedTypes;

  private final Clock clock;
  private final Duration lagLimit;

  /**
   * @param streams the open streams' records as they come and go
   * @param streamsOf those of one node group
   * @param rejectedTypes how many types of open streams have their latest response rejected
   * @param lagLimit how long a response may wait for its answer before its stream counts as lagging
   */
  SnapshotUptake(
      Collection<StreamRecord> streams,
      Function<String, Collection<StreamRecord>> streamsOf,
      AtomicInteger rejectedTypes,
      Clock clock,
      Duration lagLimit) {
    this.streams = streams;
    this.streamsOf = streamsOf;
    this.rejectedTypes = rejectedTypes;
    this.clock = clock;
    this.lagLimit = lagLimit;
  }

  /**
   * See {@link ProxyStatusTracker#verdictWithoutRejections}: each stream's types judged as {@link
   * FleetVerdict#accepted} judges them, stopping at the first that is not.
   */
  Optional<FleetVerdict.Kind> verdictWithoutRejections(
      Function<String, ContentVersionedSnapshot> sent) {
    if (rejectedTypes.get() != 0) {
      return Optional.empty();
    }
    Instant laggingBefore = clock.instant().minus(lagLimit);
    boolean judged = false;
    // Put back after the walk: a key put back into the set while it is walked may be met again.
    List<StreamRecord> stillUnsure = new ArrayList<>();
    try {
      for (StreamRecord stream : unsure) {
        // Removed before it is judged: a change told from now on is judged by the next verdict.
        unsure.remove(stream);
        if (stream.closed) {
          continue; // Before its group's snapshot is asked for: the group may be gone.
        }
        // Unsure until judged to hold what it was sent with nothing unanswered: also when asking
        // for its group's snapshot fails.
        stillUnsure.add(stream);
        // Outside the stream's monitor: a sidecar group's snapshot may be made here.
        ContentVersionedSnapshot snapshot = sent.apply(stream.group);
        synchronized (stream) {
          Optional<Instant> unansweredSince = stream.laggingSince(Instant.MAX);
          if (unansweredSince.filter(since -> since.isBefore(laggingBefore)).isPresent()) {
            continue; // Lagging Envoys neither delay nor decide the verdict.
          }
          judged = true;
          if (!holdsWhatItWasSent(stream, snapshot)) {
            return Optional.of(FleetVerdict.Kind.PENDING);
          }
          if (unansweredSince.isEmpty()) {
            // A stream with a response unanswered may lag by the next verdict, and then no longer
            // decides it: judged again until it answers.
            stillUnsure.remove(stillUnsure.size() - 1);
          }
        }
      }
    } finally {
      stillUnsure.forEach(this::changed);
    }
    // The streams not unsure hold what they were sent, and none of them lags (none had a response
    // unanswered when judged, and one sent since makes it unsure): one of them is judged. Looked
    // for only when no unsure stream was.
    judged = judged || streams.stream().anyMatch(stream -> !unsure.contains(stream));
    return Optional.of(judged ? FleetVerdict.Kind.ACCEPTED : FleetVerdict.Kind.PENDING);
  }

  /**
   * {@code stream}'s record changed (it opened, asked, was sent or answered something): the next
   * verdict judges it again. Told after the change, on the stream's thread.
   */
  void changed(StreamRecord stream) {
    unsure.add(stream);
    if (stream.closed) {
      // It closed meanwhile, and may have been let go already ({@link #closed}).
      unsure.remove(stream);
    }
  }

  /** {@code stream} has closed: once {@link StreamRecord#forget} marked it so. */
  void closed(StreamRecord stream) {
    unsure.remove(stream);
  }

  /**
   * The Envoys of {@code group} were sent a new snapshot: the next verdict judges each of its
   * streams again. Told by the pipeline, which asks for the verdicts.
   */
  void groupSent(String group) {
    // One by one as changed: a stream closing meanwhile must not stay unsure for good.
    streamsOf.apply(group).forEach(this::changed);
  }

  /**
   * Whether every type of {@code stream} holds what its group was sent, {@code snapshot}, as {@link
   * FleetVerdict#accepted} judges it. With the stream's monitor held.
   */
  private static boolean holdsWhatItWasSent(
      StreamRecord stream, ContentVersionedSnapshot snapshot) {
    for (TypeRecord type : stream.typeRecords()) {
      if (type.resourceType == null) {
        continue;
      }
      List<String> names = stream.mode == Mode.SOTW ? type.requestedNames : List.of();
      if (!FleetVerdict.accepted(
          stream.mode,
          type.resourceType,
          type.syncStatus(),
          type.versionAcked,
          type.sentAt != null,
          snapshot.version(type.resourceType, names))) {
        return false;
      }
    }
    return true;
  }

  /**
   * See {@link ProxyStatusTracker#splitByRejections}: one walk over the streams, each under its
   * monitor, making the status of those with a rejected type and judging the others' types as
   * {@link FleetVerdict#accepted} judges them.
   */
  FleetVerdict.Split splitByRejections(Function<String, ContentVersionedSnapshot> sent) {
    Instant now = clock.instant();
    Instant laggingBefore = now.minus(lagLimit);
    List<ProxyStatus> rejecting = new ArrayList<>();
    boolean judged = false;
    boolean pending = false;
    for (StreamRecord stream : streams) {
      // Outside the stream's monitor: a sidecar group's snapshot may be made here.
      ContentVersionedSnapshot snapshot = pending ? null : sent.apply(stream.group);
      synchronized (stream) {
        if (stream.typeRecords().stream().anyMatch(type -> type.rejected)) {
          rejecting.add(stream.status(now, laggingBefore));
          continue;
        }
        if (pending || stream.laggingSince(laggingBefore).isPresent()) {
          continue;
        }
        judged = true;
        pending = !holdsWhatItWasSent(stream, snapshot);
      }
    }
    rejecting.sort(ProxyStatusTracker.STATUS_ORDER);
    FleetVerdict.Others others =
        pending
            ? FleetVerdict.Others.PENDING
            : judged ? FleetVerdict.Others.ACCEPTED : FleetVerdict.Others.NONE_JUDGED;
    return new FleetVerdict.Split(List.copyOf(rejecting), others);
  }

  /**
   * See {@link ProxyStatusTracker#applied}: every stream of {@code group} that asks for the type,
   * has not rejected it and does not lag has applied it as the snapshot has it ({@link
   * TypeRecord#applied}).
   */
  boolean applied(
      String group,
      ResourceType resourceType,
      Set<String> required,
      ContentVersionedSnapshot snapshot) {
    return everyStreamOf(group, resourceType, required, snapshot, false);
  }

  /**
   * See {@link ProxyStatusTracker#delivered}: as {@link #applied}, or for endpoints delivered in
   * order ({@link TypeRecord#delivered}).
   */
  boolean delivered(
      String group,
      ResourceType resourceType,
      Set<String> required,
      ContentVersionedSnapshot snapshot) {
    return everyStreamOf(
        group, resourceType, required, snapshot, resourceType == ResourceType.ENDPOINT);
  }

  private boolean everyStreamOf(
      String group,
      ResourceType resourceType,
      Set<String> required,
      ContentVersionedSnapshot snapshot,
      boolean deliveredSuffices) {
    String typeUrl = XdsTypes.typeUrl(resourceType);
    // Each version is hashed once per call, not once per stream.
    Map<List<String>, String> sotwVersions = new HashMap<>();
    String deltaVersion = snapshot.version(resourceType, List.of());
    Instant laggingBefore = clock.instant().minus(lagLimit);
    for (StreamRecord stream : streamsOf.apply(group)) {
      synchronized (stream) {
        TypeRecord type = stream.typeIfAny(typeUrl);
        if (type == null && deliveredSuffices) {
          // It never asked for endpoints: the new clusters may be its first, and nothing it asked
          // for shows them made. Its answer to them does (Envoy answers once they are warm).
          type = stream.typeIfAny(Resources.V3.CLUSTER_TYPE_URL);
          if (type != null
              && !type.rejected
              && stream.laggingSince(laggingBefore).isEmpty()
              && !type.applied(
                  stream.mode,
                  ResourceType.CLUSTER,
                  Set.of(),
                  snapshot.version(ResourceType.CLUSTER, List.of()),
                  snapshot)) {
            return false;
          }
          continue;
        }
        if (type == null || type.rejected || stream.laggingSince(laggingBefore).isPresent()) {
          continue;
        }
        String version =
            stream.mode == Mode.SOTW
                ? sotwVersions.computeIfAbsent(
                    type.requestedNames, names -> snapshot.version(resourceType, names))
                : deltaVersion;
        if (!type.applied(stream.mode, resourceType, required, version, snapshot)
            && !(deliveredSuffices && type.delivered(stream.mode, required, version))) {
          return false;
        }
      }
    }
    return true;
  }
}
