package io.signalbox.xds;

import io.envoyproxy.controlplane.cache.SnapshotConsistencyException;
import io.signalbox.config.GatewaySettings;
import io.signalbox.metrics.SignalboxMetrics;
import io.signalbox.metrics.SignalboxMetrics.BuildResult;
import io.signalbox.model.RegistryState;
import io.signalbox.store.RegistryView;
import io.signalbox.translate.PolicyHandover;
import io.signalbox.translate.Translator;
import java.time.Instant;
import java.util.Optional;
import java.util.SortedSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
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
  private final ChangeCoalescer changes;
  private final KeptGroups groups;
  private final StagedPublishing stages;

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

  private volatile boolean running;
  private volatile GatewaySettings settings;

  /** The newest snapshot built, and what it was built from; pipeline thread only. */
  private ContentVersionedSnapshot built;

  private RegistryState builtState;
  private GatewaySettings builtSettings;

  /** What the groups are sent; written under {@link #publishLock}. */
  private volatile ContentVersionedSnapshot published;

  private RegistryState publishedState;
  private GatewaySettings publishedSettings;
  private volatile Instant pausedSince;

  /**
   * Whether the last publication stopped in a policy handover: every group keeps what it holds
   * until a publication goes through.
   */
  private volatile boolean handoverHeld;

  /** Null without a quarantine. */
  private final NackQuarantine quarantine;

  /** Wakes a staged change waiting for its stage to be applied. */
  private final EnvoyAnswers answers = new EnvoyAnswers();

  /**
   * A publisher of {@code store}'s state, translated with {@code translator} into {@code cache}'s
   * snapshots; the rest is optional.
   */
  public static SnapshotPublisherBuilder builder(
      RegistryView store,
      GatewaySettings settings,
      Translator translator,
      GroupSnapshotCache cache) {
    return new SnapshotPublisherBuilder(store, settings, translator, cache);
  }

  SnapshotPublisher(SnapshotPublisherBuilder parts) {
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
    this.changes = new ChangeCoalescer(parts.quietPeriod, parts.maxDelay);
    // The quarantine's verdict judges only the Envoys whose groups were sent something since.
    GroupSnapshotCache cache =
        parts.proxies == null ? parts.cache : new VerdictTellingCache(parts.cache, parts.proxies);
    this.groups = new KeptGroups(cache, sidecars, parts.connected, parts.metrics);
    this.stages =
        new StagedPublishing(
            publishLock,
            groups,
            snapshots,
            parts.deliveryCheck,
            answers,
            parts.stageTimeout,
            () -> running,
            () -> pausedSince != null);
    // The quarantine publishes its trials through this publisher, on the pipeline thread, which
    // starts only with start().
    this.quarantine =
        parts.quarantines == null
            ? null
            : new NackQuarantine(
                parts.quarantines,
                parts.proxies,
                groups::judgedBy,
                snapshots,
                this::publishTrial,
                groups::lastGood,
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
    // A group kept but not yet sent anything is being made its first snapshot by another stream's
    // call, under the lock: waiting for it, this stream's watches find the snapshot too.
    if (groups.isKept(group) && groups.hasSnapshot(group)) {
      return;
    }
    synchronized (publishLock) {
      if (!groups.keep(group)) {
        return;
      }
      if (published != null) {
        ContentVersionedSnapshot base =
            groups.madeFor(
                group,
                new FleetPublication(
                    published, publishedState, publishedSettings, PolicyHandover.NONE));
        if (base != null) {
          groups.send(group, base);
        }
      }
    }
  }

  /**
   * The last Envoy of a node group left: the next publication forgets the group unless one came
   * back (a group a change does not reach is not asked otherwise). Any thread; cheap.
   */
  public void groupLeft(String group) {
    groups.left(group);
  }

  /**
   * Whether an Envoy declaring a zone may connect: at most {@link NodeGroups#MAX_ZONES} zones are
   * kept at once ({@link KeptZones}).
   */
  public ZoneAdmission zoneAdmission() {
    return groups.zoneAdmission();
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
    return groups.sorted();
  }

  public SnapshotHistory history() {
    return history;
  }

  /**
   * Stops publishing: once this returns, no group is sent a new configuration until {@link
   * #resume()}; only their workload certificates are still renewed at half their life. Groups that
   * connect meanwhile get the last published one. Registrations keep being accepted.
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
    boolean published = false;
    try {
      published = publishNewest();
    } finally {
      if (!published) {
        renewHeldCertificates();
      }
    }
  }

  /**
   * Sends every group the newest state; returns whether it did, which renews every group's workload
   * certificate on the way ({@link GroupSnapshots#base}).
   */
  private boolean publishNewest() {
    if (pausedSince != null) {
      return false;
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
        return false;
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
      return false;
    }
    StagedPublishing.Outcome staged =
        stages.before(
            published == null
                ? null
                : new FleetPublication(
                    published, publishedState, publishedSettings, PolicyHandover.NONE),
            new FleetPublication(built, builtState, builtSettings, PolicyHandover.NONE));
    if (staged == StagedPublishing.Outcome.HELD) {
      handoverHeld = true;
    }
    if (staged != StagedPublishing.Outcome.DONE) {
      return false;
    }
    synchronized (publishLock) {
      // Checked again under the lock: a pause that returned before this point must hold.
      if (pausedSince != null) {
        return false;
      }
      handoverHeld = false;
      if (sendLocked(built, builtState, builtSettings)) {
        metrics.snapshotPublished();
      }
    }
    return true;
  }

  /**
   * While publishing is held (paused by an operator, a translation that is incomplete, a policy
   * handover stopped), each group keeps what it holds but for its workload certificate, renewed at
   * half its life as in any publication: a hold longer than a certificate lives must not end mutual
   * TLS across the mesh.
   */
  private void renewHeldCertificates() {
    synchronized (publishLock) {
      if (publishedSettings != null) {
        groups.renewHeldCertificates(publishedSettings);
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
    groups.sendEach(published, state, settings);
    return changed;
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
