package io.signalbox.xds;

import io.signalbox.config.GatewaySettings;
import io.signalbox.metrics.SignalboxMetrics;
import io.signalbox.store.Quarantines;
import io.signalbox.store.RegistryView;
import io.signalbox.translate.Translator;
import java.time.Duration;
import java.util.function.Predicate;

/** What a publisher is made of, its optional parts with their defaults. */
public final class SnapshotPublisherBuilder {
  final RegistryView store;
  final GatewaySettings settings;
  final Translator translator;
  final GroupSnapshotCache cache;
  Duration quietPeriod = Duration.ofMillis(1);
  Duration maxDelay = Duration.ofMillis(100);
  SignalboxMetrics metrics = SignalboxMetrics.noop();
  java.time.Clock clock = java.time.Clock.systemUTC();
  GroupSnapshots sidecars;
  DeliveryCheck deliveryCheck = DeliveryCheck.ASSUME_APPLIED;
  Duration stageTimeout = Duration.ZERO;
  Quarantines quarantines;
  NackQuarantine.Fleet proxies;
  Duration verdictTimeout;
  Predicate<String> connected = group -> true;

  SnapshotPublisherBuilder(
      RegistryView store,
      GatewaySettings settings,
      Translator translator,
      GroupSnapshotCache cache) {
    this.store = store;
    this.settings = settings;
    this.translator = translator;
    this.cache = cache;
  }

  /** How changes are coalesced (1 ms and 100 ms unless set; see the class comment). */
  public SnapshotPublisherBuilder coalescing(Duration quietPeriod, Duration maxDelay) {
    this.quietPeriod = quietPeriod;
    this.maxDelay = maxDelay;
    return this;
  }

  /** The wall clock of the history's entries and of a pause; the system's by default. */
  public SnapshotPublisherBuilder clock(java.time.Clock clock) {
    this.clock = clock;
    return this;
  }

  public SnapshotPublisherBuilder metrics(SignalboxMetrics metrics) {
    this.metrics = metrics;
    return this;
  }

  /**
   * What each group is sent of a publication: {@link SidecarSnapshots} (unless set, with workload
   * certificates from an ephemeral CA).
   */
  public SnapshotPublisherBuilder sidecars(GroupSnapshots sidecars) {
    this.sidecars = sidecars;
    return this;
  }

  /**
   * Publishes changes that add or remove clusters in stages (see {@link MakeBeforeBreak}), each
   * stage waiting until the groups' Envoys have applied the previous one, at most {@code timeout};
   * unless set, every change is one step. A stage moves on when {@link
   * SnapshotPublisher#xdsAnswered} is told of the answer that applied it (else within a
   * millisecond).
   */
  public SnapshotPublisherBuilder stageChanges(DeliveryCheck check, Duration timeout) {
    this.deliveryCheck = check;
    this.stageTimeout = timeout;
    return this;
  }

  /**
   * Quarantines registrations that Envoy rejects ({@link NackQuarantine}); the publisher is then to
   * be told of every answer ({@link SnapshotPublisher#xdsAnswered}).
   *
   * @param proxies every connected Envoy's status
   */
  public SnapshotPublisherBuilder quarantine(
      Quarantines quarantines, NackQuarantine.Fleet proxies, Duration verdictTimeout) {
    this.quarantines = quarantines;
    this.proxies = proxies;
    this.verdictTimeout = verdictTimeout;
    return this;
  }

  /**
   * Forgets a node group once none of its Envoys is {@code connected} (a group with one is sent
   * every publication; unless set, every group is kept once seen). {@code connected} must hold for
   * a group from before its Envoy's first request reaches {@link SnapshotPublisher#groupSeen}, and
   * its last Envoy's leaving must be told ({@link SnapshotPublisher#groupLeft}) once it no longer
   * holds: a publication asks only the groups it reaches, and a scoped sidecar group is reached by
   * changes to the services it takes alone.
   */
  public SnapshotPublisherBuilder forgetGroupsWithoutEnvoys(Predicate<String> connected) {
    this.connected = connected;
    return this;
  }

  public SnapshotPublisher build() {
    return new SnapshotPublisher(this);
  }
}
