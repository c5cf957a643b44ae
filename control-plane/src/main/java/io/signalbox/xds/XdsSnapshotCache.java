package io.signalbox.xds;

import io.envoyproxy.controlplane.cache.DeltaResponse;
import io.envoyproxy.controlplane.cache.DeltaWatch;
import io.envoyproxy.controlplane.cache.DeltaXdsRequest;
import io.envoyproxy.controlplane.cache.NodeGroup;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.controlplane.cache.Response;
import io.envoyproxy.controlplane.cache.VersionedResource;
import io.envoyproxy.controlplane.cache.Watch;
import io.envoyproxy.controlplane.cache.WatchCancelledException;
import io.envoyproxy.controlplane.cache.XdsRequest;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The snapshot cache the discovery server watches: state-of-the-world watches are answered by
 * java-control-plane's {@code SimpleCache}, its EDS responses trimmed to what the Envoy does not
 * hold ({@link SotwEndpointDifferences}), delta watches here, by difference, in the shape of
 * go-control-plane's {@code LinearCache}.
 *
 * <p>{@code SimpleCache} copies a delta stream's whole map of tracked resource versions into every
 * watch it opens, i.e. on every ACK: with 10,000 resources and 100 streams that copy was 44 % of
 * the control plane's CPU per change. Here a watch keeps the stream's own maps. They change only on
 * the stream's thread: on an ACK, which comes only while no watch of that type is open (the server
 * opens one after the ACK), and on a subscription change, after which the server replaces the
 * watch. The publisher reads them with lookups only, never iterating (but for the few names a
 * stream's Envoy rejected, a concurrent set), so such a change costs at worst an answer computed
 * from a half-updated subscription, which the replacing watch completes.
 *
 * <p>A watch is opened consistent with the snapshot of its time: it is answered at once with every
 * difference between that snapshot and what the stream holds (the whole type is compared once, on
 * the stream's thread), or opened when there is none. Each new snapshot then answers each open
 * watch with only the resources that changed since the previous snapshot and that the stream
 * subscribes to, and with the removals of resources it holds; a watch none of whose resources
 * changed stays open and costs a few lookups. The changed resources of a type are found once per
 * snapshot (unchanged resources are the same objects, so most comparisons are by reference).
 *
 * <p>Answers are decided under the group's lock and sent after it, in order of type: sending runs
 * the server's callbacks and writes to the stream, and an Envoy that answers meanwhile opens its
 * next watch without waiting for the rest of its group to be sent the snapshot.
 */
public final class XdsSnapshotCache extends SimpleCache<String> implements GroupSnapshotCache {

  private static final Logger log = LoggerFactory.getLogger(XdsSnapshotCache.class);

  private final NodeGroup<String> groups;
  private final Map<String, GroupWatches> deltaWatches = new ConcurrentHashMap<>();
  private final AtomicLong watchIds = new AtomicLong();
  private final SotwEndpointDifferences sotwEndpoints = new SotwEndpointDifferences();

  /** What each group holds of the last good configuration ({@link #setLastGood}). */
  private volatile LastGood lastGood = new LastGood(group -> null);

  /**
   * The last good configuration's view for each group, made once per group and only when asked: a
   * sidecar group's is translated.
   */
  private record LastGood(Function<String, Snapshot> views, Map<String, Optional<Snapshot>> made) {

    LastGood(Function<String, Snapshot> views) {
      this(views, new ConcurrentHashMap<>());
    }

    /** The view of {@code group}, or null for none. */
    Snapshot of(String group) {
      return made.computeIfAbsent(group, g -> Optional.ofNullable(views.apply(g))).orElse(null);
    }
  }

  /**
   * One group's open delta watches, by type, in the order they were opened. Opened and answered
   * under the group's monitor, so that a watch is opened consistent with the snapshot of its time;
   * a cancelled one leaves without it (a stream cancels its answered watch on every ACK, and would
   * otherwise wait for the publisher to decide a whole group's answers).
   */
  private static final class GroupWatches {
    final Map<ResourceType, Map<Long, DeltaWatch>> byType = new EnumMap<>(ResourceType.class);

    /** Set under this monitor once the group is forgotten: a watch then goes to its successor. */
    boolean forgotten;
  }

  /** What changed in one type from one snapshot to the next. */
  private record TypeChange(
      Map<String, VersionedResource<?>> changed,
      List<String> removed,
      String version,
      Map<String, VersionedResource<?>> now) {}

  public XdsSnapshotCache(NodeGroup<String> groups) {
    super(groups);
    this.groups = groups;
  }

  /**
   * State-of-the-world watches are the library's, except that EDS responses carry only what the
   * Envoy does not hold yet ({@link SotwEndpointDifferences}).
   */
  @Override
  public Watch createWatch(
      boolean ads,
      XdsRequest request,
      Set<String> knownResourceNames,
      Consumer<Response> responseConsumer,
      boolean hasClusterChanged,
      boolean allowDefaultEmptyEdsUpdate) {
    boolean byDifference = SotwEndpointDifferences.applies(ads, request);
    Consumer<Response> answers =
        byDifference ? sotwEndpoints.responses(request, responseConsumer) : responseConsumer;
    return super.createWatch(
        ads,
        request,
        byDifference ? sotwEndpoints.knownNames(request, knownResourceNames) : knownResourceNames,
        response -> {
          try {
            answers.accept(response);
          } catch (RuntimeException e) {
            // A fallback: the library's cache answers a group's watches in one loop, inside
            // setSnapshot, and one stream that cannot be answered must not leave the rest of its
            // group, and the groups after it, unanswered. (The known cause, a call closed under the
            // server by a refused stream, is mended where it arose: XdsStreamAuthorization.)
            log.warn("Answering a state-of-the-world xDS watch failed; the others are answered", e);
          }
        },
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
    ResourceType type =
        Objects.requireNonNull(
            request.getResourceType(), () -> "unsupported type URL " + request.getTypeUrl());
    String group = groups.hash(request.v3Request().getNode());
    DeltaWatch watch =
        new DeltaWatch(
            request,
            resourceVersions,
            pendingResources,
            requesterVersion,
            isWildcard,
            responseConsumer);
    Answer atOnce;
    while (true) {
      GroupWatches watches = deltaWatches.computeIfAbsent(group, g -> new GroupWatches());
      synchronized (watches) {
        if (watches.forgotten) {
          // The group was forgotten since it was looked up: its watches are no longer answered.
          continue;
        }
        Snapshot snapshot = getSnapshot(group);
        atOnce =
            snapshot == null
                ? null
                : answerAtOnce(watch, type, snapshot, hasClusterChanged, lastGoodOf(group));
        if (atOnce == null) {
          register(watches, type, watch);
        }
      }
      break;
    }
    // Sent outside the group's lock, as a new snapshot's answers are (the watch is not open, so no
    // snapshot set meanwhile answers it: the stream is sent that one once it answers this).
    if (atOnce != null) {
      atOnce.send();
    }
    return watch;
  }

  private void register(GroupWatches watches, ResourceType type, DeltaWatch watch) {
    long id = watchIds.incrementAndGet();
    Map<Long, DeltaWatch> open =
        watches.byType.computeIfAbsent(type, t -> new ConcurrentSkipListMap<>());
    open.put(id, watch);
    watch.setStop(() -> open.remove(id));
  }

  /**
   * As {@code SimpleCache} decides when a new watch is answered without waiting: its answer, or
   * null to open it.
   */
  private static Answer answerAtOnce(
      DeltaWatch watch,
      ResourceType type,
      Snapshot snapshot,
      boolean hasClusterChanged,
      Supplier<Snapshot> lastGood) {
    String version = snapshot.version(type, List.of());
    @SuppressWarnings("unchecked")
    Map<String, VersionedResource<?>> resources =
        (Map<String, VersionedResource<?>>) (Map<?, ?>) snapshot.versionedResources(type);
    if (!version.equals(watch.version())
        || hasClusterChanged
            && type == ResourceType.ENDPOINT
            && watch.pendingResources().isEmpty()) {
      // Every difference with what the stream holds; this runs on the stream's thread, where
      // walking its tracked names is safe.
      Differences differences = differences(watch, resources);
      return Answer.of(
          watch,
          withRejected(watch, differences.changes(), resources, lastGood, type),
          differences.removed(),
          version);
    }
    if (!watch.isWildcard() && !watch.pendingResources().isEmpty()) {
      Map<String, VersionedResource<?>> requested = new HashMap<>();
      for (String name : watch.pendingResources()) {
        VersionedResource<?> resource = resources.get(name);
        if (resource != null) {
          requested.put(name, resource);
        }
      }
      // A name subscribed to that the snapshot lacks stays pending: with nothing requested to
      // send, the rejected ones alone would be sent again on every answer, for ever.
      return requested.isEmpty()
          ? null
          : Answer.of(
              watch, withRejected(watch, requested, resources, lastGood, type), List.of(), version);
    }
    return null;
  }

  /**
   * {@code send}, with the resources of {@code resources} the stream's Envoy rejected and has not
   * been sent since ({@link PendingNames}), changed or not, unless the last good configuration
   * holds them as they are: the Envoy's answer to any snapshot of their type then covers them, so a
   * snapshot that keeps a rejected resource unchanged is rejected again, not accepted by its other
   * changes (a quarantine trial that keeps the culprit, a publication made before the rejection was
   * judged). What the last good configuration holds too is the Envoy's rejection of something
   * older, a listener on a port its host cannot bind, say: sent with every change of its type, it
   * would have every change rejected, and the quarantine blame whichever service made it.
   */
  private static Map<String, VersionedResource<?>> withRejected(
      DeltaWatch watch,
      Map<String, VersionedResource<?>> send,
      Map<String, VersionedResource<?>> resources,
      Supplier<Snapshot> lastGood,
      ResourceType type) {
    if (send == resources) {
      // Every resource goes already; and the snapshot's map is not to be written.
      return send;
    }
    if (watch.pendingResources() instanceof PendingNames names && !names.rejected().isEmpty()) {
      Snapshot good = lastGood.get();
      Map<String, ? extends VersionedResource<?>> held =
          good == null ? Map.of() : good.versionedResources(type);
      for (String name : names.rejected()) {
        VersionedResource<?> resource = resources.get(name);
        VersionedResource<?> kept = held.get(name);
        if (resource != null && (kept == null || !kept.version().equals(resource.version()))) {
          send.put(name, resource);
        }
      }
    }
    return send;
  }

  /**
   * Tells the cache what each group holds of the last configuration every Envoy accepted (its
   * snapshot, or null for none), which rejected resources are judged against ({@link
   * #withRejected}). {@code views} is asked only for a group with a rejected resource to send
   * again, at most once per group, on the thread answering the watch and under the group's lock: it
   * must be thread-safe and must not call back into the cache. Any thread.
   */
  @Override
  public void setLastGood(Function<String, Snapshot> views) {
    this.lastGood = new LastGood(views);
  }

  /** What {@code group} holds of the last good configuration, looked up when asked. */
  private Supplier<Snapshot> lastGoodOf(String group) {
    LastGood current = lastGood;
    return () -> current.of(group);
  }

  @Override
  public synchronized void setSnapshot(String group, Snapshot snapshot) {
    GroupWatches watches = deltaWatches.computeIfAbsent(group, g -> new GroupWatches());
    List<Answer> answers = new ArrayList<>();
    Supplier<Snapshot> lastGood = lastGoodOf(group);
    synchronized (watches) {
      Snapshot previous = getSnapshot(group);
      // State-of-the-world watches: the library's cache answers them (it holds no delta watch).
      super.setSnapshot(group, snapshot);
      for (ResourceType type : Resources.RESOURCE_TYPES_IN_ORDER) {
        Map<Long, DeltaWatch> open = watches.byType.get(type);
        if (open == null || open.isEmpty()) {
          continue;
        }
        TypeChange change = change(previous, snapshot, type);
        if (change == null) {
          continue;
        }
        Iterator<DeltaWatch> each = open.values().iterator();
        while (each.hasNext()) {
          DeltaWatch watch = each.next();
          if (watch.isCancelled()) {
            each.remove();
            continue;
          }
          Map<String, VersionedResource<?>> changes =
              change.changed() == change.now() && wantsEverything(watch, change.now())
                  ? change.now()
                  : changesFor(watch, change.changed());
          Answer answer =
              Answer.of(
                  watch,
                  withRejected(watch, changes, change.now(), lastGood, type),
                  removalsFor(watch, change.removed()),
                  change.version());
          if (answer != null) {
            each.remove();
            answers.add(answer);
          }
        }
      }
    }
    // Sent once the group's watches are free again: sending runs the server's callbacks and writes
    // to each stream, which at 5,000 Envoys took long enough for their answers to queue up on the
    // group's lock, each on a gRPC thread of its own (over a thousand threads started in one
    // fan-out bench). An Envoy answering now opens its next watch against this snapshot. Sent in
    // order of type, so that each stream still gets clusters before endpoints, and so on.
    for (Answer answer : answers) {
      try {
        answer.send();
      } catch (RuntimeException e) {
        // Its watch has left the group already: one stream failing must not leave the answers
        // after it unsent, and their streams waiting with no watch.
        log.warn("Answering a delta xDS watch failed; the group's other answers are sent", e);
      }
    }
  }

  /**
   * Forgets {@code group} (its snapshot, statuses and delta watches) unless a watch of it is still
   * open; returns whether it did.
   */
  @Override
  public synchronized boolean clearSnapshot(String group) {
    GroupWatches watches = deltaWatches.computeIfAbsent(group, g -> new GroupWatches());
    synchronized (watches) {
      for (Map<Long, DeltaWatch> open : watches.byType.values()) {
        open.values().removeIf(DeltaWatch::isCancelled);
        if (!open.isEmpty()) {
          return false;
        }
      }
      // Under the group's monitor, so that no watch is registered meanwhile into a map that is
      // then dropped (it would never be answered).
      if (!super.clearSnapshot(group)) {
        return false;
      }
      watches.forgotten = true;
      deltaWatches.remove(group, watches);
      return true;
    }
  }

  /** A response decided under a group's lock, sent after it. */
  private record Answer(DeltaWatch watch, DeltaResponse response) {

    /** The answer, or null when there is nothing to send. */
    static Answer of(
        DeltaWatch watch,
        Map<String, VersionedResource<?>> resources,
        List<String> removed,
        String version) {
      if (resources.isEmpty() && removed.isEmpty()) {
        return null;
      }
      return new Answer(watch, DeltaResponse.create(watch.request(), resources, removed, version));
    }

    void send() {
      try {
        watch.respond(response);
      } catch (WatchCancelledException e) {
        // The stream went away, or replaced the watch with one that answers it.
      }
    }
  }

  /** What changed in {@code type}, or null for nothing. */
  @SuppressWarnings("unchecked")
  private static TypeChange change(Snapshot previous, Snapshot snapshot, ResourceType type) {
    String version = snapshot.version(type, List.of());
    Map<String, VersionedResource<?>> now =
        (Map<String, VersionedResource<?>>) (Map<?, ?>) snapshot.versionedResources(type);
    if (previous == null) {
      return new TypeChange(now, List.of(), version, now);
    }
    if (previous.version(type, List.of()).equals(version)) {
      return null;
    }
    // Every group is set the same snapshot: a content-versioned one finds the change once.
    ResourceDiff diff =
        snapshot instanceof ContentVersionedSnapshot versioned
            ? versioned.changesSince(previous, type)
            : ResourceDiff.between(
                (Map<String, VersionedResource<?>>) (Map<?, ?>) previous.versionedResources(type),
                now);
    Map<String, VersionedResource<?>> changed = new HashMap<>();
    diff.added().forEach(name -> changed.put(name, now.get(name)));
    diff.modified().forEach(name -> changed.put(name, now.get(name)));
    return new TypeChange(changed, diff.removed(), version, now);
  }

  /** What a stream is to be sent of a type, and the names it holds that are to be removed. */
  private record Differences(Map<String, VersionedResource<?>> changes, List<String> removed) {}

  /**
   * Every difference between {@code resources} and what the stream holds. A stream whose response
   * crossed a new snapshot on its way asks again on its answer, and at 10,000 resources comparing
   * them all cost about a millisecond per stream: a fleet answering during a change spent seconds.
   * But a stream rebases what it holds onto its group's snapshot when it answers ({@link
   * TrackedVersions}): against that very snapshot its differences are its own few, plus the names
   * it subscribed to and has not acknowledged. The whole type is compared only for a stream that
   * holds what it holds against another (a snapshot set since its answer, or none yet).
   */
  private static Differences differences(
      DeltaWatch watch, Map<String, VersionedResource<?>> resources) {
    if (wantsEverything(watch, resources)) {
      return new Differences(resources, List.of());
    }
    if (watch.trackedResources() instanceof TrackedVersions tracked) {
      Map<String, VersionedResource<?>> changes = new HashMap<>();
      List<String> removed = new ArrayList<>();
      boolean fromOwnDifferences =
          tracked.forEachDifferenceFrom(
              resources,
              (name, held) -> {
                VersionedResource<?> resource = resources.get(name);
                if (resource == null) {
                  if (held != null) {
                    removed.add(name);
                  }
                } else if (wanted(watch, name, resource)) {
                  changes.put(name, resource);
                }
              });
      if (fromOwnDifferences) {
        // Held as the snapshot has it: wanted only when subscribed to and not acknowledged since.
        for (String name : watch.pendingResources()) {
          VersionedResource<?> resource = resources.get(name);
          if (resource != null) {
            changes.put(name, resource);
          }
        }
        return new Differences(changes, removed);
      }
    }
    return new Differences(changesFor(watch, resources), removedOfAll(watch, resources));
  }

  /**
   * Whether the stream is new and wants every resource of {@code resources}: then it is sent that
   * very map. Copied per stream, the initial sync of 1,000 streams of 10,000 services made 20
   * million entries, kept until each stream's answer came back, and the heap grew past 2 GB with
   * them.
   */
  private static boolean wantsEverything(
      DeltaWatch watch, Map<String, VersionedResource<?>> resources) {
    return watch.trackedResources() instanceof TrackedVersions tracked
        && tracked.holdsNothing()
        && (watch.isWildcard() || subscribesToAll(watch.pendingResources(), resources));
  }

  /**
   * Whether every name of {@code resources} is among {@code pending}: an Envoy's first request for
   * the endpoints of all its clusters. Found with lookups only: the names are distinct, so as many
   * of them in {@code resources} as it has means all of them.
   */
  private static boolean subscribesToAll(
      Set<String> pending, Map<String, VersionedResource<?>> resources) {
    if (pending.size() < resources.size()) {
      return false;
    }
    int found = 0;
    for (String name : pending) {
      if (resources.containsKey(name)) {
        found++;
      }
    }
    return found == resources.size();
  }

  /** Of the changed resources, those the stream is to be sent (lookups in its maps only). */
  private static Map<String, VersionedResource<?>> changesFor(
      DeltaWatch watch, Map<String, VersionedResource<?>> changed) {
    Map<String, VersionedResource<?>> send = new HashMap<>();
    changed.forEach(
        (name, resource) -> {
          if (wanted(watch, name, resource)) {
            send.put(name, resource);
          }
        });
    return send;
  }

  private static List<String> removalsFor(DeltaWatch watch, List<String> removed) {
    List<String> send = new ArrayList<>();
    for (String name : removed) {
      if (watch.trackedResources().get(name) != null) {
        send.add(name);
      }
    }
    return send;
  }

  /**
   * Whether a resource goes to the stream: subscribed and not yet sent, or held at another version,
   * or new to a wildcard subscription (as {@code SimpleCache} decides).
   */
  private static boolean wanted(DeltaWatch watch, String name, VersionedResource<?> resource) {
    if (watch.pendingResources().contains(name)) {
      return true;
    }
    String held = watch.trackedResources().get(name);
    return held == null ? watch.isWildcard() : !resource.version().equals(held);
  }

  private static List<String> removedOfAll(
      DeltaWatch watch, Map<String, VersionedResource<?>> resources) {
    List<String> removed = new ArrayList<>();
    for (String name : watch.trackedResources().keySet()) {
      if (!resources.containsKey(name)) {
        removed.add(name);
      }
    }
    return removed;
  }
}
