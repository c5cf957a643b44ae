package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.controlplane.cache.DeltaResponse;
import io.envoyproxy.controlplane.cache.DeltaWatch;
import io.envoyproxy.controlplane.cache.DeltaXdsRequest;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.controlplane.cache.SnapshotResources;
import io.envoyproxy.controlplane.cache.VersionedResource;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.signalbox.translate.XdsResources;
import java.time.Duration;
import java.util.AbstractMap;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * Delta watches by difference: a change reaches only the streams that subscribe to what changed,
 * with only that; and whatever the order of changes and subscriptions, every stream ends up holding
 * exactly what it subscribes to, at the snapshot's versions.
 */
class XdsSnapshotCacheTest {

  private static final String GROUP = "edge";
  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final String EDS = Resources.V3.ENDPOINT_TYPE_URL;

  private final XdsSnapshotCache cache = new XdsSnapshotCache(node -> GROUP);

  /**
   * Whether streams keep their tracked versions as {@link DeltaAdsStream} does: as differences from
   * the snapshot, moved to the group's newest snapshot on every ACK.
   */
  private boolean trackedAsDifferences;

  private final BaseChanges baseChanges = new BaseChanges();

  /** Answers are ACKed after the publication returns, as they arrive from Envoy later. */
  private final Queue<Runnable> acks = new ArrayDeque<>();

  @Test
  void aChangedAssignmentReachesOnlyTheStreamsSubscribedToItAndCarriesOnlyIt() {
    Map<String, Integer> ports = ports(10);
    cache.setSnapshot(GROUP, snapshot(ports));
    Stream a = new Stream(EDS, false).subscribe("c1", "c2");
    Stream b = new Stream(EDS, false).subscribe("c3");
    Stream all = new Stream(CDS, true).subscribe();
    settle();
    a.received.clear();
    b.received.clear();
    all.received.clear();

    ports.put("c2", 9999);
    cache.setSnapshot(GROUP, snapshot(ports));
    settle();

    assertThat(a.received).hasSize(1);
    assertThat(a.received.get(0).resources()).containsOnlyKeys("c2");
    assertThat(a.received.get(0).removedResources()).isEmpty();
    assertThat(b.received).isEmpty();
    assertThat(all.received).as("clusters did not change").isEmpty();
  }

  @Test
  void aRemovedResourceIsRemovedFromTheStreamsThatHoldIt() {
    Map<String, Integer> ports = ports(3);
    cache.setSnapshot(GROUP, snapshot(ports));
    Stream clusters = new Stream(CDS, true).subscribe();
    Stream endpoints = new Stream(EDS, false).subscribe("c0", "c1", "c2");
    settle();

    ports.remove("c1");
    cache.setSnapshot(GROUP, snapshot(ports));
    settle();

    assertThat(clusters.held).containsOnlyKeys("c0", "c2");
    assertThat(endpoints.held).containsOnlyKeys("c0", "c2");
    assertThat(last(clusters).removedResources()).containsExactly("c1");
    assertThat(last(clusters).resources()).isEmpty();
  }

  @Test
  void aGroupIsForgottenOnlyOnceNoWatchOfItIsOpen() {
    ContentVersionedSnapshot snapshot = snapshot(ports(2));
    cache.setSnapshot(GROUP, snapshot);
    List<DeltaResponse> answers = new java.util.concurrent.CopyOnWriteArrayList<>();
    io.envoyproxy.controlplane.cache.DeltaWatch first = openEndpointsWatch(snapshot, answers::add);
    io.envoyproxy.controlplane.cache.DeltaWatch second = openEndpointsWatch(snapshot, answers::add);

    assertThat(cache.clearSnapshot(GROUP)).as("two delta watches are open").isFalse();
    assertThat(cache.getSnapshot(GROUP)).isSameAs(snapshot);

    first.cancel();
    assertThat(cache.clearSnapshot(GROUP)).as("one delta watch is still open").isFalse();

    second.cancel();
    assertThat(cache.clearSnapshot(GROUP)).isTrue();
    assertThat(cache.getSnapshot(GROUP)).isNull();
    assertThat(answers).as("nothing was sent").isEmpty();
  }

  /** An endpoints watch of a stream that holds {@code c0} as {@code snapshot} has it: no answer. */
  private io.envoyproxy.controlplane.cache.DeltaWatch openEndpointsWatch(
      ContentVersionedSnapshot snapshot, java.util.function.Consumer<DeltaResponse> answers) {
    return cache.createDeltaWatch(
        DeltaXdsRequest.create(
            DeltaDiscoveryRequest.newBuilder()
                .setNode(Node.newBuilder().setId("edge-1"))
                .setTypeUrl(EDS)
                .build()),
        snapshot.version(EDS, List.of()),
        new HashMap<>(Map.of("c0", snapshot.endpoints().versionedResources().get("c0").version())),
        Set.of(),
        false,
        answers,
        false);
  }

  @Test
  void aStateOfTheWorldWatchThatCannotBeAnsweredLeavesTheOthersOfItsGroupAnswered() {
    cache.setSnapshot(GROUP, snapshot(ports(2)));
    List<io.envoyproxy.controlplane.cache.Response> answered =
        new java.util.concurrent.CopyOnWriteArrayList<>();
    for (int i = 0; i < 3; i++) {
      boolean broken = i == 1;
      cache.createWatch(
          true,
          io.envoyproxy.controlplane.cache.XdsRequest.create(
              io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest.newBuilder()
                  .setNode(Node.newBuilder().setId("edge-" + i))
                  .setTypeUrl(CDS)
                  .setVersionInfo(
                      cache
                          .getSnapshot(GROUP)
                          .version(io.envoyproxy.controlplane.cache.Resources.ResourceType.CLUSTER))
                  .build()),
          Set.of(),
          response -> {
            if (broken) {
              throw new IllegalStateException("call is closed");
            }
            answered.add(response);
          },
          false,
          false);
    }

    cache.setSnapshot(GROUP, snapshot(ports(3)));

    assertThat(answered).as("the two watches beside the broken one").hasSize(2);
  }

  @Test
  void aStreamThatSubscribesLaterGetsWhatItAsksForAtOnce() {
    cache.setSnapshot(GROUP, snapshot(ports(5)));
    Stream endpoints = new Stream(EDS, false).subscribe("c1");
    settle();

    endpoints.subscribe("c4", "missing");
    settle();

    assertThat(endpoints.held).containsOnlyKeys("c1", "c4");
  }

  @Test
  void anEnvoyThatAnswersWhileItsGroupIsBeingSentASnapshotOpensItsNextWatchWithoutWaiting() {
    Map<String, Integer> ports = ports(3);
    cache.setSnapshot(GROUP, snapshot(ports));
    List<Boolean> answeredInTime = Collections.synchronizedList(new ArrayList<>());
    // Each answer arrives on a thread of its own, while the publisher is still sending the
    // snapshot to the rest of the group (here: waits for it).
    Executor answerWhileSending = answer -> answeredInTime.add(endsMeanwhile(answer));
    Stream first = new Stream(EDS, false, answerWhileSending).subscribe("c0");
    Stream second = new Stream(EDS, false, answerWhileSending).subscribe("c0");
    answeredInTime.clear();

    ports.put("c0", 9999);
    ContentVersionedSnapshot changed = snapshot(ports);
    cache.setSnapshot(GROUP, changed);

    assertThat(answeredInTime).containsExactly(true, true);
    assertThat(first.held).isEqualTo(first.expected(changed));
    assertThat(second.held).isEqualTo(second.expected(changed));
  }

  @Test
  void aStreamAnsweredAtOnceHoldsNoOtherStreamOfItsGroupBack() {
    cache.setSnapshot(GROUP, snapshot(ports(3)));
    List<Boolean> openedInTime = Collections.synchronizedList(new ArrayList<>());
    // While the first stream's answer is being sent, another Envoy of the group subscribes.
    Executor anotherSubscribesMeanwhile =
        answer -> {
          openedInTime.add(endsMeanwhile(() -> new Stream(CDS, true).subscribe()));
          acks.add(answer);
        };

    new Stream(EDS, false, anotherSubscribesMeanwhile).subscribe("c0");

    assertThat(openedInTime).containsExactly(true);
    settle();
  }

  @Test
  void aStreamCancelsItsWatchWithoutWaitingForItsGroupsAnswersToBeDecided() {
    Map<String, Integer> ports = ports(2);
    ContentVersionedSnapshot first = snapshot(ports);
    cache.setSnapshot(GROUP, first);
    Stream answered = new Stream(EDS, false).subscribe("c1");
    settle();
    List<Boolean> cancelledInTime = Collections.synchronizedList(new ArrayList<>());
    // A watch whose answer is being decided (its subscription looked up) while another stream,
    // having answered, cancels its watch to open the next.
    Set<String> pending =
        new HashSet<>() {
          @Override
          public boolean contains(Object name) {
            cancelledInTime.add(endsMeanwhile(() -> answered.watch.cancel()));
            return super.contains(name);
          }
        };
    List<DeltaResponse> decided = new ArrayList<>();
    openWatchHoldingC0(first, "deciding", pending, decided::add);

    ports.put("c0", 9999);
    cache.setSnapshot(GROUP, snapshot(ports));

    assertThat(cancelledInTime).isNotEmpty().containsOnly(true);
    assertThat(decided)
        .singleElement()
        .satisfies(r -> assertThat(r.resources()).containsOnlyKeys("c0"));
  }

  @Test
  void aStreamWhoseAnswerFailsLeavesTheRestOfItsGroupAnswered() {
    Map<String, Integer> ports = ports(2);
    ContentVersionedSnapshot first = snapshot(ports);
    cache.setSnapshot(GROUP, first);
    openWatchHoldingC0(
        first,
        "failing",
        new HashSet<>(),
        response -> {
          throw new IllegalStateException("the stream broke");
        });
    Stream after = new Stream(EDS, false).subscribe("c0");
    settle();

    ports.put("c0", 9999);
    ContentVersionedSnapshot changed = snapshot(ports);
    cache.setSnapshot(GROUP, changed);
    settle();

    assertThat(after.held).isEqualTo(after.expected(changed));
  }

  /**
   * A stream whose response crossed a new snapshot on its way asks again when it answers. It holds
   * what it holds as differences from its group's snapshot, moved onto the newest one as it
   * answers: it is sent what it lacks of that one from its own few differences, without a walk over
   * the snapshot's 10,000 assignments (about a millisecond per stream, paid by every stream of a
   * fleet that answers during a change).
   */
  @Test
  void aStreamAnsweringAfterASnapshotItMissedIsAnsweredWithoutAWalkOverTheWholeType() {
    trackedAsDifferences = true;
    Map<String, Integer> ports = ports(10_000);
    cache.setSnapshot(GROUP, new WalkCountingSnapshot(snapshot(ports)));
    Stream stream = new Stream(EDS, false).subscribe(ports.keySet().toArray(String[]::new));
    settle();
    ports.put("c5", 9005);
    cache.setSnapshot(GROUP, new WalkCountingSnapshot(snapshot(ports)));
    assertThat(last(stream).resources()).as("its response is on its way").containsOnlyKeys("c5");

    ports.put("c6", 9006);
    ports.remove("c7");
    WalkCountingSnapshot missed = new WalkCountingSnapshot(snapshot(ports));
    cache.setSnapshot(GROUP, missed);
    // What changed between the two snapshots is found once for every stream of the group: found
    // here, before the walks are counted.
    baseChanges.between(
        stream.trackedVersions().base(), missed.versionedResources(ResourceType.ENDPOINT));
    missed.walks = 0;
    settle();

    assertThat(last(stream).resources()).containsOnlyKeys("c6");
    assertThat(last(stream).removedResources()).containsExactly("c7");
    assertThat(stream.held).isEqualTo(stream.expected(missed.delegate));
    assertThat(missed.walks).as("walks over the snapshot's assignments").isZero();
  }

  /**
   * A new stream that wants every cluster is sent the snapshot's clusters as the snapshot holds
   * them, not a copy per stream; once it answers, it holds the snapshot with no differences of its
   * own, and a change reaches it as the change alone.
   */
  @Test
  void aNewStreamIsSentTheSnapshotItselfAndThenOnlyWhatChanges() {
    trackedAsDifferences = true;
    Map<String, Integer> ports = ports(100);
    ContentVersionedSnapshot first = snapshot(ports);
    cache.setSnapshot(GROUP, first);

    Stream stream = new Stream(CDS, true).subscribe();

    assertThat(last(stream).resources()).isSameAs(first.versionedResources(ResourceType.CLUSTER));
    settle();
    assertThat(stream.trackedVersions().ownSize()).isZero();
    assertThat(stream.trackedVersions().base())
        .isSameAs(first.versionedResources(ResourceType.CLUSTER));

    ports.put("c100", 9100);
    ContentVersionedSnapshot second = snapshot(ports);
    cache.setSnapshot(GROUP, second);
    assertThat(last(stream).resources()).containsOnlyKeys("c100");
    settle();
    assertThat(stream.held).isEqualTo(stream.expected(second));
  }

  /** So is one that connected before its group had a snapshot, when the first one is set. */
  @Test
  void aStreamWaitingForItsGroupsFirstSnapshotIsSentThatSnapshotItself() {
    trackedAsDifferences = true;
    Stream clusters = new Stream(CDS, true).subscribe();
    Stream endpoints = new Stream(EDS, false).subscribe("c0", "c1", "c2");
    Stream someEndpoints = new Stream(EDS, false).subscribe("c1");

    ContentVersionedSnapshot first = snapshot(ports(3));
    cache.setSnapshot(GROUP, first);

    assertThat(last(clusters).resources()).isSameAs(first.versionedResources(ResourceType.CLUSTER));
    assertThat(last(endpoints).resources())
        .isSameAs(first.versionedResources(ResourceType.ENDPOINT));
    assertThat(last(someEndpoints).resources()).containsOnlyKeys("c1");
    settle();
    assertThat(endpoints.held).isEqualTo(endpoints.expected(first));
    assertThat(someEndpoints.held).isEqualTo(someEndpoints.expected(first));
  }

  /**
   * So is a new stream that subscribes to every assignment, as Envoy does once it has its clusters;
   * one that subscribes to some of them is sent those alone.
   */
  @Test
  void aNewStreamSubscribingToEveryAssignmentIsSentTheSnapshotItself() {
    trackedAsDifferences = true;
    Map<String, Integer> ports = ports(100);
    ContentVersionedSnapshot snapshot = snapshot(ports);
    cache.setSnapshot(GROUP, snapshot);

    Set<String> names = new HashSet<>(ports.keySet());
    names.add("gone");
    Stream everything = new Stream(EDS, false).subscribe(names.toArray(String[]::new));
    Stream some = new Stream(EDS, false).subscribe("c1", "c2");

    assertThat(last(everything).resources())
        .isSameAs(snapshot.versionedResources(ResourceType.ENDPOINT));
    assertThat(last(some).resources()).containsOnlyKeys("c1", "c2");
    settle();
    assertThat(everything.trackedVersions().ownSize()).isZero();
    assertThat(everything.pending).containsExactly("gone");
    assertThat(everything.held).isEqualTo(everything.expected(snapshot));
  }

  /**
   * What a stream answering after a snapshot it missed is sent, found from its own differences from
   * that snapshot, is what comparing the whole type with what it holds finds: over random holdings
   * (names held as the snapshot has them, at other versions, not held, held but gone) and
   * subscriptions, wildcard or not.
   */
  @Test
  void answersFromAStreamsOwnDifferencesEqualTheWholeComparison() {
    Random random = new Random(11);
    for (int trial = 0; trial < 500; trial++) {
      Map<String, Integer> ports = new TreeMap<>();
      for (int i = 0; i < 30; i++) {
        if (random.nextInt(4) != 0) {
          ports.put("c" + i, 8000 + random.nextInt(3));
        }
      }
      ContentVersionedSnapshot snapshot = snapshot(ports);
      cache.setSnapshot(GROUP, snapshot);
      Map<String, VersionedResource<?>> resources =
          snapshot.versionedResources(ResourceType.ENDPOINT);
      TrackedVersions tracked = new TrackedVersions();
      Set<String> pending = new HashSet<>();
      for (int i = 0; i < 36; i++) {
        String name = "c" + i;
        switch (random.nextInt(4)) {
          case 0 -> {
            VersionedResource<?> resource = resources.get(name);
            if (resource != null) {
              tracked.put(name, resource.version());
            }
          }
          case 1 -> tracked.put(name, "another version");
          default -> {}
        }
        if (random.nextInt(5) == 0) {
          pending.add(name);
        }
      }
      tracked.rebase(resources, baseChanges.between(tracked.base(), resources));
      for (int i = 0; i < 3; i++) {
        tracked.remove("c" + random.nextInt(36));
      }
      boolean wildcard = random.nextBoolean();

      DeltaResponse fromOwnDifferences = answerAtOnce(tracked, pending, wildcard);
      DeltaResponse fromWholeComparison = answerAtOnce(new HashMap<>(tracked), pending, wildcard);

      assertThat(fromOwnDifferences.resources())
          .as("trial %d", trial)
          .isEqualTo(fromWholeComparison.resources());
      assertThat(Set.copyOf(fromOwnDifferences.removedResources()))
          .as("trial %d", trial)
          .isEqualTo(Set.copyOf(fromWholeComparison.removedResources()));
    }
  }

  /** The answer a watch of an older version gets at once from the group's snapshot. */
  private DeltaResponse answerAtOnce(
      Map<String, String> tracked, Set<String> pending, boolean wildcard) {
    List<DeltaResponse> answers = new ArrayList<>();
    cache.createDeltaWatch(
        DeltaXdsRequest.create(
            DeltaDiscoveryRequest.newBuilder()
                .setNode(Node.newBuilder().setId("edge-1"))
                .setTypeUrl(EDS)
                .build()),
        "an older version",
        tracked,
        pending,
        wildcard,
        answers::add,
        false);
    return answers.isEmpty() ? DeltaResponse.create(null, Map.of(), List.of(), "") : answers.get(0);
  }

  /**
   * A snapshot whose resource maps count the walks over them (lookups are free), each the same map
   * on every call, as a snapshot's are.
   */
  private static final class WalkCountingSnapshot extends Snapshot {
    final ContentVersionedSnapshot delegate;
    final Map<ResourceType, Map<String, VersionedResource<?>>> maps =
        new EnumMap<>(ResourceType.class);
    int walks;

    WalkCountingSnapshot(ContentVersionedSnapshot delegate) {
      this.delegate = delegate;
      for (ResourceType type : ResourceType.values()) {
        Map<String, VersionedResource<?>> resources = delegate.versionedResources(type);
        maps.put(
            type,
            new AbstractMap<>() {
              @Override
              public VersionedResource<?> get(Object name) {
                return resources.get(name);
              }

              @Override
              public boolean containsKey(Object name) {
                return resources.containsKey(name);
              }

              @Override
              public int size() {
                return resources.size();
              }

              @Override
              public Set<Entry<String, VersionedResource<?>>> entrySet() {
                walks++;
                return resources.entrySet();
              }
            });
      }
    }

    @Override
    public Map<String, VersionedResource<?>> versionedResources(ResourceType type) {
      return maps.get(type);
    }

    @Override
    public String version(ResourceType type, List<String> names) {
      return delegate.version(type, names);
    }

    @Override
    public SnapshotResources<Cluster> clusters() {
      return delegate.clusters();
    }

    @Override
    public SnapshotResources<ClusterLoadAssignment> endpoints() {
      return delegate.endpoints();
    }

    @Override
    public SnapshotResources<Listener> listeners() {
      return delegate.listeners();
    }

    @Override
    public SnapshotResources<RouteConfiguration> routes() {
      return delegate.routes();
    }

    @Override
    public SnapshotResources<Secret> secrets() {
      return delegate.secrets();
    }
  }

  @Test
  void randomChangesAndSubscriptionsAlwaysLeaveEveryStreamHoldingItsSubscription() {
    randomChangesAndSubscriptions();
  }

  @Test
  void soTheyDoWhenStreamsKeepWhatTheyHoldAsDifferencesFromTheSnapshot() {
    trackedAsDifferences = true;
    randomChangesAndSubscriptions();
  }

  private void randomChangesAndSubscriptions() {
    Random random = new Random(7);
    Map<String, Integer> ports = ports(8);
    cache.setSnapshot(GROUP, snapshot(ports));
    List<Stream> streams = new ArrayList<>();
    streams.add(new Stream(CDS, true).subscribe());
    for (int i = 0; i < 6; i++) {
      streams.add(new Stream(EDS, false).subscribe("c" + random.nextInt(12)));
    }
    for (int step = 0; step < 300; step++) {
      String name = "c" + random.nextInt(12);
      switch (random.nextInt(4)) {
        case 0 -> ports.remove(name);
        case 1 -> ports.put(name, 8000 + random.nextInt(50));
        case 2 -> {
          Stream stream = streams.get(1 + random.nextInt(streams.size() - 1));
          stream.subscribe(name);
        }
        default -> {
          Stream stream = streams.get(1 + random.nextInt(streams.size() - 1));
          stream.unsubscribe(name);
        }
      }
      ContentVersionedSnapshot snapshot = snapshot(ports);
      cache.setSnapshot(GROUP, snapshot);
      settle();
      for (Stream stream : streams) {
        assertThat(stream.held)
            .as("step %d, %s", step, stream)
            .isEqualTo(stream.expected(snapshot));
      }
    }
  }

  @Test
  void streamsOnTheirOwnThreadsConvergeWhileAPublisherKeepsChanging() throws Exception {
    streamsConvergeWhileAPublisherKeepsChanging();
  }

  @Test
  void soTheyDoWhenTheyKeepWhatTheyHoldAsDifferencesFromTheSnapshot() throws Exception {
    trackedAsDifferences = true;
    streamsConvergeWhileAPublisherKeepsChanging();
  }

  private void streamsConvergeWhileAPublisherKeepsChanging() throws Exception {
    Random random = new Random(5);
    Map<String, Integer> ports = ports(40);
    cache.setSnapshot(GROUP, snapshot(ports));
    List<ExecutorService> threads = new ArrayList<>();
    List<Stream> streams = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      ExecutorService thread = Executors.newSingleThreadExecutor();
      threads.add(thread);
      streams.add(new Stream(i % 4 == 0 ? CDS : EDS, i % 4 == 0, thread));
    }
    try {
      for (int i = 0; i < streams.size(); i++) {
        Stream stream = streams.get(i);
        String first = "c" + i;
        threads
            .get(i)
            .execute(
                () -> stream.subscribe(stream.wildcard ? new String[0] : new String[] {first}));
      }
      ContentVersionedSnapshot last = null;
      for (int step = 0; step < 300; step++) {
        String name = "c" + random.nextInt(50);
        if (random.nextInt(3) == 0) {
          ports.remove(name);
        } else {
          ports.put(name, 8000 + random.nextInt(100));
        }
        int i = random.nextInt(streams.size());
        Stream stream = streams.get(i);
        if (!stream.wildcard) {
          String subscription = "c" + random.nextInt(50);
          threads.get(i).execute(() -> stream.subscribe(subscription));
        }
        last = snapshot(ports);
        cache.setSnapshot(GROUP, last);
      }
      ContentVersionedSnapshot published = last;
      for (int i = 0; i < streams.size(); i++) {
        Stream stream = streams.get(i);
        ExecutorService thread = threads.get(i);
        Awaitility.await()
            .atMost(Duration.ofSeconds(10))
            .untilAsserted(
                () ->
                    assertThat(thread.submit(() -> new TreeMap<>(stream.held)).get())
                        .as("%s", stream)
                        .isEqualTo(thread.submit(() -> stream.expected(published)).get()));
      }
    } finally {
      threads.forEach(ExecutorService::shutdownNow);
    }
  }

  private static DeltaResponse last(Stream stream) {
    return stream.received.get(stream.received.size() - 1);
  }

  /**
   * Opens an endpoints watch for a stream that holds {@code c0} as {@code snapshot} has it and has
   * been sent that snapshot's version.
   */
  private void openWatchHoldingC0(
      ContentVersionedSnapshot snapshot,
      String nodeId,
      Set<String> pending,
      java.util.function.Consumer<DeltaResponse> answers) {
    cache.createDeltaWatch(
        DeltaXdsRequest.create(
            DeltaDiscoveryRequest.newBuilder()
                .setNode(Node.newBuilder().setId(nodeId))
                .setTypeUrl(EDS)
                .build()),
        snapshot.version(EDS, List.of()),
        new HashMap<>(Map.of("c0", snapshot.endpoints().versionedResources().get("c0").version())),
        pending,
        false,
        answers,
        false);
  }

  /**
   * Runs {@code task} on a thread of its own and tells whether it ended within thirty seconds: a
   * deadlock never does, and a busy machine may take a while.
   */
  private static boolean endsMeanwhile(Runnable task) {
    Thread thread = new Thread(task);
    thread.start();
    try {
      thread.join(30_000);
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
    return !thread.isAlive();
  }

  private void settle() {
    for (int i = 0; i < 10_000 && !acks.isEmpty(); i++) {
      acks.poll().run();
    }
    assertThat(acks).isEmpty();
  }

  /**
   * One simulated delta stream of one type, keeping its state as java-control-plane's server keeps
   * it: tracked versions updated on ACK, pending names until sent, a new watch after each ACK and
   * each subscription change. Its ACKs run on {@code streamThread}: queued until {@link #settle()}
   * by default, or on a thread of its own, as the server runs a stream's messages one at a time
   * while the publisher answers its watches from another thread.
   */
  private final class Stream {
    final String typeUrl;
    final boolean wildcard;
    final Node node = Node.newBuilder().setId("node-" + System.identityHashCode(this)).build();
    final Map<String, String> tracked =
        trackedAsDifferences ? new TrackedVersions() : new HashMap<>();
    final Set<String> pending = new HashSet<>();
    final Set<String> subscribed = new HashSet<>();
    final Map<String, String> held = new TreeMap<>();
    final List<DeltaResponse> received = Collections.synchronizedList(new ArrayList<>());
    final Executor streamThread;
    String latestVersion = "";
    DeltaWatch watch;
    volatile boolean awaitingAck;

    Stream(String typeUrl, boolean wildcard) {
      this(typeUrl, wildcard, acks::add);
    }

    Stream(String typeUrl, boolean wildcard, Executor streamThread) {
      this.typeUrl = typeUrl;
      this.wildcard = wildcard;
      this.streamThread = streamThread;
    }

    TrackedVersions trackedVersions() {
      return (TrackedVersions) tracked;
    }

    Stream subscribe(String... names) {
      pending.addAll(List.of(names));
      subscribed.addAll(List.of(names));
      return request();
    }

    Stream unsubscribe(String name) {
      subscribed.remove(name);
      pending.remove(name);
      tracked.remove(name);
      held.remove(name);
      return request();
    }

    private Stream request() {
      if (awaitingAck) {
        // The server opens no watch while a response is unanswered.
        return this;
      }
      if (watch != null) {
        watch.cancel();
      }
      watch =
          cache.createDeltaWatch(
              DeltaXdsRequest.create(
                  DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(typeUrl).build()),
              latestVersion,
              tracked,
              pending,
              wildcard,
              this::answered,
              false);
      return this;
    }

    private void answered(DeltaResponse response) {
      received.add(response);
      awaitingAck = true;
      streamThread.execute(
          () -> {
            awaitingAck = false;
            // The server tracks what it sent, as DeltaAdsStream does; Envoy keeps only what it
            // watches (a response already on its way when a cluster went may still carry the
            // cluster's endpoints, which no watch of Envoy's takes).
            if (tracked instanceof TrackedVersions differences) {
              differences.acknowledged(
                  response.resources(),
                  response.removedResources(),
                  cache.getSnapshot(GROUP).versionedResources(response.request().getResourceType()),
                  baseChanges::between);
            } else {
              response
                  .resources()
                  .forEach((name, resource) -> tracked.put(name, resource.version()));
              response.removedResources().forEach(tracked::remove);
            }
            response
                .resources()
                .forEach(
                    (name, resource) -> {
                      pending.remove(name);
                      if (wildcard || subscribed.contains(name)) {
                        held.put(name, resource.version());
                      }
                    });
            response.removedResources().forEach(held::remove);
            if (!wildcard) {
              // As Envoy does when a cluster goes: it stops asking for its endpoints.
              response.removedResources().forEach(subscribed::remove);
            }
            latestVersion = response.version();
            // The previous watch is cancelled by the new one, as the server's computeWatch does:
            // a subscription that ran while this response was on its way may have opened one,
            // and an orphaned watch would answer from the stream's maps as they change.
            request();
          });
    }

    Map<String, String> expected(ContentVersionedSnapshot snapshot) {
      Map<String, VersionedResource<?>> resources =
          typeUrl.equals(CDS)
              ? Map.copyOf(snapshot.clusters().versionedResources())
              : Map.copyOf(snapshot.endpoints().versionedResources());
      return resources.entrySet().stream()
          .filter(e -> wildcard || subscribed.contains(e.getKey()))
          .collect(
              Collectors.toMap(
                  Map.Entry::getKey, e -> e.getValue().version(), (x, y) -> x, TreeMap::new));
    }

    @Override
    public String toString() {
      return (wildcard ? "wildcard " : "")
          + Resources.TYPE_URLS_TO_RESOURCE_TYPE.get(typeUrl)
          + " "
          + subscribed;
    }
  }

  private static Map<String, Integer> ports(int clusters) {
    Map<String, Integer> ports = new TreeMap<>();
    for (int i = 0; i < clusters; i++) {
      ports.put("c" + i, 8000 + i);
    }
    return ports;
  }

  /** A cluster (always the same content) and an assignment (with the port) per name. */
  private static ContentVersionedSnapshot snapshot(Map<String, Integer> ports) {
    List<Cluster> clusters = new ArrayList<>();
    List<ClusterLoadAssignment> assignments = new ArrayList<>();
    ports.forEach(
        (name, port) -> {
          clusters.add(
              Cluster.newBuilder().setName(name).setType(Cluster.DiscoveryType.EDS).build());
          assignments.add(TestAssignments.onPort(name, port));
        });
    return ContentVersionedSnapshot.of(
        new XdsResources(List.of(), List.of(), clusters, assignments, List.of()));
  }
}
