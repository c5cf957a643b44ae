package io.signalbox.xds;

import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.controlplane.cache.SnapshotConsistencyException;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.signalbox.config.GatewaySettings;
import io.signalbox.metrics.SignalboxMetrics;
import io.signalbox.metrics.SignalboxMetrics.BuildResult;
import io.signalbox.model.RegistryState;
import io.signalbox.store.Quarantines;
import io.signalbox.store.RegistryView;
import io.signalbox.translate.PolicyHandover;
import io.signalbox.translate.Translator;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pipeline: one thread that turns registry changes into published snapshots.
 *
 * <p>Changes are coalesced: a change that finds the pipeline idle is published at once; changes
 * that arrive while a publication runs are collected until none has arrived for the quiet period
 * (never longer than the maximum delay), and then the newest state is translated once. A burst of
 * registrations therefore costs a handful of snapshots, and a lone registration no wait at all.
 * Publishing happens only here, never on a gRPC thread, because {@code SimpleCache.setSnapshot}
 * answers every open watch on the caller's thread.
 *
 * <p>An operator may pause publishing: Envoys keep what they have, and the newest state is
 * published on resume. Every publication is recorded in the {@link SnapshotHistory}, with the
 * services whose state changed since the one before.
 */
public final class SnapshotPublisher implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(SnapshotPublisher.class);

  private final RegistryView store;
  private final SnapshotBuilder snapshots;
  private final SimpleCache<String> cache;
  private final ChangeCoalescer changes;
  private final Set<String> groups = ConcurrentHashMap.newKeySet();

  /** The zones of the groups kept: named by Envoys, so bounded. */
  private final KeptZones zones = new KeptZones();

  private final AtomicLong snapshotsBuilt = new AtomicLong();
  private final AtomicLong quarantineTrials = new AtomicLong();

  /**
   * Orders snapshot publications, so an older snapshot never overwrites a newer one for a group.
   */
  private final Object publishLock = new Object();

  private final Thread thread;
  private final SignalboxMetrics metrics;
  private final java.time.Clock clock;
  private final GroupSnapshots sidecars;

  private final SnapshotHistory history = new SnapshotHistory(SnapshotHistory.DEFAULT_CAPACITY);

  /** Why each group's snapshot could not be made last time, while it cannot. */
  private final Map<String, String> groupFailures = new ConcurrentHashMap<>();

  private volatile boolean running;
  private volatile GatewaySettings settings;

  /** The newest snapshot built, and what it was built from; pipeline thread only. */
  private ContentVersionedSnapshot built;

  private RegistryState builtState;
  private GatewaySettings builtSettings;

  /** What the groups are sent; written under {@link #publishLock}. */
  private volatile ContentVersionedSnapshot published;

  /**
   * What each group was last sent in full (a stage of a staged change aside), before its zone's
   * view: the fleet's snapshot or the group's own ({@link SidecarSnapshots#base}). The next staged
   * change starts from it. Written under {@link #publishLock}.
   */
  private final Map<String, ContentVersionedSnapshot> sentBases = new ConcurrentHashMap<>();

  private RegistryState publishedState;
  private GatewaySettings publishedSettings;
  private volatile Instant pausedSince;

  /**
   * Whether the last publication stopped in a policy handover: every group keeps what it holds
   * until a publication goes through.
   */
  private volatile boolean handoverHeld;

  private final DeliveryCheck deliveryCheck;

  /** Zero: every change is published in one step. */
  private final Duration stageTimeout;

  /** Null without a quarantine. */
  private final NackQuarantine quarantine;

  /** Wakes a staged change waiting for its stage to be applied. */
  private final EnvoyAnswers answers = new EnvoyAnswers();

  /** Whether a node group has an Envoy connected ({@link Builder#forgetGroupsWithoutEnvoys}). */
  private final Predicate<String> connected;

  /**
   * A publisher of {@code store}'s state, translated with {@code translator} into {@code cache}'s
   * snapshots; the rest is optional.
   */
  public static Builder builder(
      RegistryView store,
      GatewaySettings settings,
      Translator translator,
      SimpleCache<String> cache) {
    return new Builder(store, settings, translator, cache);
  }

  /** What a publisher is made of, its optional parts with their defaults. */
  public static final class Builder {
    private final RegistryView store;
    private final GatewaySettings settings;
    private final Translator translator;
    private final SimpleCache<String> cache;
    private Duration quietPeriod = Duration.ofMillis(1);
    private Duration maxDelay = Duration.ofMillis(100);
    private SignalboxMetrics metrics = SignalboxMetrics.noop();
    private java.time.Clock clock = java.time.Clock.systemUTC();
    private GroupSnapshots sidecars;
    private DeliveryCheck deliveryCheck = DeliveryCheck.ASSUME_APPLIED;
    private Duration stageTimeout = Duration.ZERO;
    private Quarantines quarantines;
    private NackQuarantine.Fleet proxies;
    private Duration verdictTimeout;
    private Predicate<String> connected = group -> true;

    private Builder(
        RegistryView store,
        GatewaySettings settings,
        Translator translator,
        SimpleCache<String> cache) {
      this.store = store;
      this.settings = settings;
      this.translator = translator;
      this.cache = cache;
    }

    /** How changes are coalesced (1 ms and 100 ms unless set; see the class comment). */
    public Builder coalescing(Duration quietPeriod, Duration maxDelay) {
      this.quietPeriod = quietPeriod;
      this.maxDelay = maxDelay;
      return this;
    }

    /** The wall clock of the history's entries and of a pause; the system's by default. */
    public Builder clock(java.time.Clock clock) {
      this.clock = clock;
      return this;
    }

    public Builder metrics(SignalboxMetrics metrics) {
      this.metrics = metrics;
      return this;
    }

    /**
     * What each group is sent of a publication: {@link SidecarSnapshots} (unless set, with workload
     * certificates from an ephemeral CA).
     */
    public Builder sidecars(GroupSnapshots sidecars) {
      this.sidecars = sidecars;
      return this;
    }

    /**
     * Publishes changes that add or remove clusters in stages (see {@link MakeBeforeBreak}), each
     * stage waiting until the groups' Envoys have applied the previous one, at most {@code
     * timeout}; unless set, every change is one step. A stage moves on when {@link #xdsAnswered} is
     * told of the answer that applied it (else within a millisecond).
     */
    public Builder stageChanges(DeliveryCheck check, Duration timeout) {
      this.deliveryCheck = check;
      this.stageTimeout = timeout;
      return this;
    }

    /**
     * Quarantines registrations that Envoy rejects ({@link NackQuarantine}); the publisher is then
     * to be told of every answer ({@link #xdsAnswered}).
     *
     * @param proxies every connected Envoy's status
     */
    public Builder quarantine(
        Quarantines quarantines, NackQuarantine.Fleet proxies, Duration verdictTimeout) {
      this.quarantines = quarantines;
      this.proxies = proxies;
      this.verdictTimeout = verdictTimeout;
      return this;
    }

    /**
     * Forgets a node group once none of its Envoys is {@code connected} (a group with one is sent
     * every publication; unless set, every group is kept once seen). {@code connected} must hold
     * for a group from before its Envoy's first request reaches {@link #groupSeen}.
     */
    public Builder forgetGroupsWithoutEnvoys(Predicate<String> connected) {
      this.connected = connected;
      return this;
    }

    public SnapshotPublisher build() {
      return new SnapshotPublisher(this);
    }
  }

  private SnapshotPublisher(Builder parts) {
    this.metrics = parts.metrics;
    this.clock = parts.clock;
    this.sidecars =
        parts.sidecars != null
            ? parts.sidecars
            : new SidecarSnapshots(
                MeshIdentities.ephemeral(
                    parts.settings.access().trustDomain(),
                    MeshIdentities.DEFAULT_VALIDITY,
                    parts.clock));
    this.store = parts.store;
    this.settings = parts.settings;
    this.snapshots = new SnapshotBuilder(parts.translator);
    this.cache = parts.cache;
    this.changes = new ChangeCoalescer(parts.quietPeriod, parts.maxDelay);
    this.deliveryCheck = parts.deliveryCheck;
    this.stageTimeout = parts.stageTimeout;
    this.connected = parts.connected;
    // The quarantine publishes its trials through this publisher, on the pipeline thread, which
    // starts only with start().
    this.quarantine =
        parts.quarantines == null
            ? null
            : new NackQuarantine(
                parts.quarantines,
                parts.proxies,
                (publication, group) -> {
                  ContentVersionedSnapshot base;
                  try {
                    base =
                        sidecars.base(
                            group,
                            publication.snapshot(),
                            publication.state(),
                            publication.settings(),
                            PolicyHandover.NONE);
                  } catch (RuntimeException e) {
                    // A group that cannot be made holds what it was sent last, if anything. Not
                    // logged here: the verdict asks on every poll, and the publication that
                    // failed to make the group has logged it (madeFor).
                    base = sentBases.getOrDefault(group, publication.snapshot());
                  }
                  return base.forGroup(group);
                },
                snapshots,
                this::publishTrial,
                () -> running,
                parts.verdictTimeout);
    this.thread = new Thread(this::run, "signalbox-pipeline");
    this.thread.setDaemon(true);
  }

  /**
   * Starts publishing. Call only once the store holds its full state: an empty snapshot blanks
   * every Envoy.
   */
  public void start() {
    running = true;
    store.addChangeListener(this::requestPublish);
    // The first snapshot is built on the caller's thread, before the server listens: a freshly
    // started JVM took up to a second to build it on the pipeline thread, and a delta Envoy
    // reconnecting in that window was sent again everything it held (harmless, but a needless
    // re-send of the whole fleet's configuration after every restart).
    try {
      publish();
    } catch (RuntimeException e) {
      log.error("Publishing the first snapshot failed; the pipeline tries again", e);
      requestPublish();
    }
    changes.published();
    thread.start();
  }

  /** An Envoy acknowledged (or, {@code nack}, rejected) a response. Any thread; cheap. */
  public void xdsAnswered(boolean nack) {
    answers.answered();
    if (quarantine != null) {
      quarantine.answered();
      if (nack) {
        requestPublish();
      }
    }
  }

  /**
   * A response was written to an Envoy's stream: a stage that needs only to be delivered in order
   * may move on. Any thread; cheap.
   */
  public void xdsWritten() {
    answers.answered();
  }

  /** New gateway settings (a reload): the registry is translated again with them. */
  public void updateSettings(GatewaySettings newSettings) {
    this.settings = newSettings;
    requestPublish();
  }

  /** The gateway settings the pipeline translates with. */
  public GatewaySettings settings() {
    return settings;
  }

  /** Asks for the current state to be published soon; cheap and non-blocking. */
  public void requestPublish() {
    changes.signal();
  }

  /**
   * A node group has an Envoy connected: it is sent the current snapshot from now on. The first
   * time, the snapshot is set before this returns, so the Envoy's very first requests find it
   * (rather than waiting for the pipeline). This happens once per group, so it does not put
   * publishing on gRPC threads in general.
   */
  public void groupSeen(String group) {
    if (groups.contains(group)) {
      return;
    }
    synchronized (publishLock) {
      if (!groups.add(group)) {
        return;
      }
      zones.groupKept(group);
      if (published != null) {
        ContentVersionedSnapshot base =
            madeFor(
                group,
                () ->
                    sidecars.base(
                        group, published, publishedState, publishedSettings, PolicyHandover.NONE));
        if (base != null) {
          sendLocked(group, base);
        }
      }
    }
  }

  /**
   * Whether an Envoy declaring a zone may connect: at most {@link NodeGroups#MAX_ZONES} zones are
   * kept at once ({@link KeptZones}).
   */
  public ZoneAdmission zoneAdmission() {
    return zones;
  }

  /**
   * The snapshot every group is sent (a zone's groups, {@link ContentVersionedSnapshot#forGroup its
   * view}), or null before the first publication.
   */
  public ContentVersionedSnapshot current() {
    return published;
  }

  /** When the workload certificate the Envoys of {@code group} hold expires (sidecar mode). */
  public Optional<Instant> certificateExpiry(String group) {
    return sidecars.certificateExpiry(group, settings);
  }

  /**
   * The node groups that have an Envoy connected (or had one since the last publication), sorted.
   */
  public SortedSet<String> groups() {
    return Collections.unmodifiableSortedSet(new TreeSet<>(groups));
  }

  public SnapshotHistory history() {
    return history;
  }

  /**
   * Stops publishing: once this returns, no group is sent a new snapshot until {@link #resume()}.
   * Groups that connect meanwhile get the last published one. Registrations keep being accepted.
   */
  public void pause() {
    synchronized (publishLock) {
      if (pausedSince == null) {
        pausedSince = clock.instant();
        log.warn("Publishing paused by an operator; Envoys keep their current configuration");
      }
    }
  }

  /** Publishes again, starting with the newest state at once. */
  public void resume() {
    boolean wasPaused;
    synchronized (publishLock) {
      wasPaused = pausedSince != null;
      pausedSince = null;
    }
    if (wasPaused) {
      log.warn("Publishing resumed by an operator");
      requestPublish();
    }
  }

  /** When publishing was paused; empty while it runs. */
  public Optional<Instant> pausedSince() {
    return Optional.ofNullable(pausedSince);
  }

  /**
   * Whether publishing is held by a policy handover that stopped (a group it counts on could not be
   * made, or the handover was incomplete): no group is sent anything new until a publication goes
   * through.
   */
  public boolean handoverHeld() {
    return handoverHeld;
  }

  /**
   * Whether the registry or the settings changed since the last publication (e.g. while paused).
   */
  public boolean changesPending() {
    RegistryState state = store.state();
    synchronized (publishLock) {
      return publishedState == null
          || state.revision() != publishedState.revision()
          || !settings.equals(publishedSettings);
    }
  }

  /** How many distinct snapshots were built; a measure of coalescing. */
  public long snapshotsBuilt() {
    return snapshotsBuilt.get();
  }

  /** How many trial snapshots the quarantine published while looking for rejected registrations. */
  public long quarantineTrials() {
    return quarantineTrials.get();
  }

  @Override
  public void close() {
    running = false;
    changes.wakeUp();
    try {
      thread.join(TimeUnit.SECONDS.toMillis(5));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void run() {
    long handled = 0;
    while (running) {
      try {
        handled = changes.awaitChange(handled, () -> running);
        if (running) {
          publish();
          changes.published();
        }
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        // A failure here must not end the pipeline: the next change gets another try.
        log.error("Publishing failed; Envoys keep their last configuration", e);
      }
    }
  }

  private void publish() {
    if (pausedSince != null) {
      return;
    }
    if (quarantine != null && published != null) {
      quarantine.check(
          new NackQuarantine.Publication(published, publishedState, publishedSettings));
    }
    RegistryState state = store.servedState();
    GatewaySettings gateway = settings;
    if (built == null
        || state.revision() != builtState.revision()
        || !gateway.equals(builtSettings)) {
      long started = System.nanoTime();
      ContentVersionedSnapshot snapshot;
      try {
        snapshot = snapshots.build(state, gateway);
      } catch (SnapshotConsistencyException e) {
        metrics.snapshotBuilt(BuildResult.INCOMPLETE, System.nanoTime() - started);
        log.error(
            "Translation of revision {} is incomplete and is not published: {}",
            state.revision(),
            e.getMessage());
        return;
      }
      builtState = state;
      builtSettings = gateway;
      boolean changed = built == null || !snapshot.version().equals(built.version());
      metrics.snapshotBuilt(
          changed ? BuildResult.NEW : BuildResult.UNCHANGED, System.nanoTime() - started);
      if (changed) {
        built = snapshot;
        snapshotsBuilt.incrementAndGet();
        log.atDebug()
            .addKeyValue("version", snapshot.version())
            .log(
                "Built snapshot {} from revision {} in {} us",
                snapshot.version(),
                state.revision(),
                (System.nanoTime() - started) / 1000);
      }
    }
    if (built == null) {
      return;
    }
    Target next = new Target(built, builtState, builtSettings, PolicyHandover.NONE);
    if (!handOverPolicies(next) || !publishStages(next, group -> true)) {
      return;
    }
    synchronized (publishLock) {
      // Checked again under the lock: a pause that returned before this point must hold.
      if (pausedSince != null) {
        return;
      }
      handoverHeld = false;
      if (sendLocked(built, builtState, builtSettings)) {
        metrics.snapshotPublished();
      }
    }
  }

  /**
   * Makes {@code snapshot} what every group is sent, built from {@code state} and {@code settings};
   * recorded in the history when it is a new one. Returns whether it was. Call with {@link
   * #publishLock} held.
   */
  private boolean sendLocked(
      ContentVersionedSnapshot snapshot, RegistryState state, GatewaySettings settings) {
    boolean changed = snapshot != published;
    if (changed) {
      history.record(
          snapshot,
          publishedState,
          state,
          publishedSettings != null && !settings.equals(publishedSettings),
          clock.instant());
      published = snapshot;
    }
    publishedState = state;
    publishedSettings = settings;
    for (String group : groups) {
      if (!connected.test(group) && forgetLocked(group)) {
        continue;
      }
      ContentVersionedSnapshot base =
          madeFor(
              group, () -> sidecars.base(group, published, state, settings, PolicyHandover.NONE));
      if (base != null) {
        sendLocked(group, base);
      }
    }
    return changed;
  }

  /**
   * Forgets {@code group}, whose Envoys have all gone: it is no longer made and sent a snapshot on
   * every publication (groups came and went with services and zones, and were kept for good). An
   * Envoy of it that connects meanwhile has counted as connected before it looks for the group
   * ({@link #groupSeen}): it is seen here and the group kept, or it finds the group gone and waits
   * for this lock to set its snapshot again. A group whose watches are not all closed yet is kept
   * until the next publication. Call with {@link #publishLock} held.
   */
  private boolean forgetLocked(String group) {
    groups.remove(group);
    if (connected.test(group) || !cache.clearSnapshot(group)) {
      groups.add(group);
      return false;
    }
    zones.groupForgotten(group);
    sentBases.remove(group);
    groupFailures.remove(group);
    sidecars.forget(group, groups);
    metrics.groupForgotten(group);
    log.info("Node group {} has no Envoy connected any more: forgotten", group);
    return true;
  }

  /**
   * The snapshot {@code make} makes for {@code group}, or null when it cannot be made (say, the
   * group's workload certificate cannot be issued): logged, and the group keeps what it has, while
   * every other group is sent the change (a policy handover stops instead, {@link #stepTo}).
   */
  private ContentVersionedSnapshot madeFor(String group, Supplier<ContentVersionedSnapshot> make) {
    try {
      ContentVersionedSnapshot made = make.get();
      if (groupFailures.remove(group) != null) {
        log.info("Node group {} can be made its snapshot again", group);
      }
      return made;
    } catch (RuntimeException e) {
      String failure = String.valueOf(e);
      if (failure.equals(groupFailures.put(group, failure))) {
        // The same failure again, every publication: said, without its stack trace again.
        log.error(
            "Node group {} could not be made the new snapshot; it keeps what it holds, if"
                + " anything: {}",
            group,
            failure);
      } else {
        log.error(
            "Node group {} could not be made the new snapshot; it keeps what it holds, if anything",
            group,
            e);
      }
      return null;
    }
  }

  /** Sends {@code group} its zone's view of {@code base}. Call with {@link #publishLock} held. */
  private void sendLocked(String group, ContentVersionedSnapshot base) {
    sentBases.put(group, base);
    ContentVersionedSnapshot sent = base.forGroup(group);
    if (cache.getSnapshot(group) != sent) {
      cache.setSnapshot(group, sent);
    }
  }

  /**
   * A fleet snapshot to publish and what it was built from: each group is sent its own snapshot of
   * it ({@link SidecarSnapshots#base}).
   */
  private record Target(
      ContentVersionedSnapshot fleet,
      RegistryState state,
      GatewaySettings settings,
      PolicyHandover handover) {}

  /**
   * Hands policies that move between the edge and sidecars over without a gap ({@link
   * PolicyHandover}): first the edge enforces them too (forwarding the token it verified), then the
   * sidecars, both still on the published state; then the change itself with both enforcing; then
   * the sidecars let go of what is the edge's now. The edge lets go of what is the sidecars' in the
   * publication that follows. Each step waits until the Envoys it went to applied it (or the stage
   * timeout passed, logged, as a stuck Envoy must not hold the fleet back). Only with staging on:
   * without Envoys to wait for, the steps would be no safer than one. Returns false when publishing
   * was paused meanwhile (every Envoy then holds one of the steps, each of which enforces every
   * policy somewhere).
   */
  private boolean handOverPolicies(Target next) {
    if (published == null || stageTimeout.isZero()) {
      return true;
    }
    PolicyHandover handover = PolicyHandover.between(publishedState, next.state());
    if (handover.isEmpty()) {
      return true;
    }
    Target bothOnPublished;
    Target bothOnNext;
    try {
      bothOnPublished =
          new Target(
              snapshots.build(publishedState, publishedSettings, handover),
              publishedState,
              publishedSettings,
              handover);
      bothOnNext =
          new Target(
              snapshots.build(next.state(), next.settings(), handover),
              next.state(),
              next.settings(),
              handover);
    } catch (SnapshotConsistencyException e) {
      log.error(
          "The policy handover of {} is incomplete; publishing waits for the next change: {}",
          handover.services(),
          e.getMessage());
      handoverHeld = true;
      return false;
    }
    log.info("Handing the policies of {} between the edge and their sidecars", handover.services());
    Predicate<String> sidecarGroups = SidecarSnapshots::isSidecarGroup;
    return stepTo(bothOnPublished, sidecarGroups.negate())
        && stepTo(bothOnPublished, sidecarGroups)
        && stepTo(bothOnNext, group -> true)
        && stepTo(next, sidecarGroups);
  }

  /**
   * Sends {@code target} to the groups {@code which} selects, staged, and waits until their Envoys
   * applied its listeners and routes. Returns false when publishing was paused meanwhile.
   */
  private boolean stepTo(Target target, Predicate<String> which) {
    synchronized (publishLock) {
      // Before anything of the step is sent, so that the handover stops between two steps.
      for (String group : groups) {
        if (which.test(group)
            && connected.test(group)
            && sentBases.get(group) != null
            && countedOn(group, target.handover())
            && madeFor(group, () -> base(group, target)) == null) {
          // Left on what it holds, this group might be the one the handover counts on to enforce
          // a policy the others stop enforcing: the handover stops on the last step, in which
          // every policy is enforced somewhere, as when publishing is paused.
          log.error(
              "The policy handover of {} stops: node group {} cannot be made its next step;"
                  + " publishing waits for the next change",
              target.handover().services(),
              group);
          handoverHeld = true;
          return false;
        }
      }
    }
    if (!publishStages(target, which)) {
      return false;
    }
    Map<String, StagedChange.GroupStage> sent = new LinkedHashMap<>();
    synchronized (publishLock) {
      if (pausedSince != null) {
        return false;
      }
      for (String group : groups) {
        if (which.test(group)) {
          // Another group that cannot be made keeps what it holds, as in any publication.
          ContentVersionedSnapshot base = madeFor(group, () -> base(group, target));
          if (base != null && base != sentBases.get(group)) {
            sendLocked(group, base);
            sent.put(group, new StagedChange.GroupStage(base.forGroup(group), APPLIED_POLICIES));
          }
        }
      }
    }
    StagedChange.awaitApplied(sent, deliveryCheck, answers, stageTimeout, () -> running);
    return true;
  }

  /**
   * Whether a handover may count on {@code group} to enforce a policy: an edge group, or the
   * sidecars of a service handing its policies over. The sidecars of other services enforce none of
   * those.
   */
  private static boolean countedOn(String group, PolicyHandover handover) {
    return NodeGroups.sidecarService(group).map(handover.services()::contains).orElse(true);
  }

  /** Where a route's policies are enforced: listeners (a sidecar's inbound routes) and routes. */
  private static final List<MakeBeforeBreak.Wait> APPLIED_POLICIES =
      List.of(
          new MakeBeforeBreak.Wait(ResourceType.LISTENER, Set.of()),
          new MakeBeforeBreak.Wait(ResourceType.ROUTE, Set.of()));

  private ContentVersionedSnapshot base(String group, Target target) {
    return sidecars.base(
        group, target.fleet(), target.state(), target.settings(), target.handover());
  }

  /**
   * Sends the intermediate stages between what each group {@code which} selects was sent and what
   * it is sent of {@code target} ({@link StagedChange}), waiting after each phase until the groups'
   * Envoys applied it (or the stage timeout passed). Returns false when publishing was paused
   * meanwhile.
   */
  private boolean publishStages(Target target, Predicate<String> which) {
    if (stageTimeout.isZero()) {
      return true;
    }
    StagedChange change;
    synchronized (publishLock) {
      // A group whose snapshot cannot be made is planned no stage: it stays where it is.
      change =
          StagedChange.plan(
              groups.stream().filter(which).toList(),
              sentBases::get,
              group -> {
                ContentVersionedSnapshot base = madeFor(group, () -> base(group, target));
                return base != null ? base : sentBases.get(group);
              });
    }
    for (MakeBeforeBreak.Phase phase :
        List.of(MakeBeforeBreak.Phase.ADD, MakeBeforeBreak.Phase.SWITCH)) {
      Map<String, StagedChange.GroupStage> stages = change.phase(phase);
      if (stages.isEmpty()) {
        continue;
      }
      synchronized (publishLock) {
        if (pausedSince != null) {
          return false;
        }
        stages.forEach((group, stage) -> cache.setSnapshot(group, stage.snapshot()));
      }
      StagedChange.awaitApplied(stages, deliveryCheck, answers, stageTimeout, () -> running);
    }
    return true;
  }

  /** A quarantine trial: set for every group like any snapshot, and recorded in the history. */
  private boolean publishTrial(NackQuarantine.Publication trial) {
    synchronized (publishLock) {
      if (pausedSince != null || !running) {
        return false;
      }
      sendLocked(trial.snapshot(), trial.state(), trial.settings());
    }
    quarantineTrials.incrementAndGet();
    return true;
  }
}
