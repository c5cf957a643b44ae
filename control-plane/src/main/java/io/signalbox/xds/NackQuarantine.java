package io.signalbox.xds;

import io.signalbox.config.GatewaySettings;
import io.signalbox.envoy.XdsTypes;
import io.signalbox.model.RegistryState;
import io.signalbox.model.ServiceState;
import io.signalbox.store.Quarantines;
import io.signalbox.xds.FleetVerdict.Kind;
import io.signalbox.xds.FleetVerdict.Rejection;
import io.signalbox.xds.FleetVerdict.Verdict;
import io.signalbox.xds.ProxyStatusTracker.ProxyStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one rejected registration from freezing the fleet. When Envoy rejects a snapshot, this
 * finds the services whose changes caused it and quarantines them (the store then leaves them out
 * of what the gateway is built from), so the pipeline's next snapshot is the last good
 * configuration plus every other change.
 *
 * <p>It keeps a <em>reference</em>: the newest configuration known to hold no rejected registration
 * (at first the empty registry). The candidates are the services whose state differs between the
 * reference and the rejected snapshot. One candidate is convicted at once; several are bisected
 * ({@link Bisection}) by publishing trial snapshots translated from the reference plus a subset of
 * the changes, each judged by the Envoys' answers ({@link FleetVerdict}) within a timeout. If the
 * operator's settings changed since the reference, they are tried first on their own: a rejection
 * of the settings is logged and quarantines nobody.
 *
 * <p>Runs on the pipeline thread, which it holds during a search: registrations arriving meanwhile
 * are left out of the trials and published with the outcome. All groups are sent the same snapshots
 * (a sidecar group its own, made from them), so the fleet is judged as one, each Envoy by what its
 * group was sent: a rejection by one Envoy is enough, an acceptance needs every connected one.
 */
public final class NackQuarantine {

  public static final Duration DEFAULT_VERDICT_TIMEOUT = Duration.ofSeconds(5);

  private static final Logger log = LoggerFactory.getLogger(NackQuarantine.class);

  /**
   * Excused rejections already logged; bounded, since an Envoy can keep rejecting the same listener
   * for days.
   */
  private static final int MAX_LOGGED_EXCUSES = 1000;

  /** A snapshot with what it was translated from. */
  public record Publication(
      ContentVersionedSnapshot snapshot, RegistryState state, GatewaySettings settings) {

    public Publication {
      Objects.requireNonNull(snapshot, "snapshot");
      Objects.requireNonNull(state, "state");
      Objects.requireNonNull(settings, "settings");
    }

    String version() {
      return snapshot.version();
    }
  }

  /** Sets a trial snapshot for every group; false when publishing is paused or stopped. */
  @FunctionalInterface
  public interface TrialPublisher {
    boolean publish(Publication trial);
  }

  private final Quarantines quarantines;
  private final TrialConfigurations configurations;
  private final TrialPublisher trialPublisher;
  private final Consumer<Publication> lastGood;

  /** What {@link #lastGood} was told last (pipeline thread only). */
  private Publication toldCache;

  private final FleetAnswers fleetAnswers;
  private final GroupViews views;

  /** Pipeline thread only, from here on. */
  private Publication reference;

  /** The last snapshot whose rejection was looked into without a culprit: not looked into again. */
  private String unattributed;

  private final Set<String> loggedExcuses = new HashSet<>();

  /** The connected Envoys, as the verdicts read them. */
  public interface Fleet {

    /** Every connected Envoy's status. */
    List<ProxyStatus> proxies();

    /**
     * The verdict on what each group was {@code sent} when it can be found without every Envoy's
     * status (see {@link ProxyStatusTracker#verdictWithoutRejections}); empty otherwise.
     */
    default Optional<Kind> verdictWithoutRejections(
        Function<String, ContentVersionedSnapshot> sent) {
      return Optional.empty();
    }

    /**
     * The Envoys with a rejected type, apart from how the others stand against what their groups
     * were {@code sent} (see {@link ProxyStatusTracker#splitByRejections}); empty when not known
     * apart, and then every status decides.
     */
    default Optional<FleetVerdict.Split> splitByRejections(
        Function<String, ContentVersionedSnapshot> sent) {
      return Optional.empty();
    }

    /**
     * The Envoys of {@code group} were sent a new snapshot. A fleet that judges only what changed
     * since its last verdict ({@link #verdictWithoutRejections}) judges their streams again.
     */
    default void groupSent(String group) {}
  }

  /** What a group is sent of a publication: its zone's view, or its sidecars' own snapshot. */
  @FunctionalInterface
  public interface GroupViews {
    ContentVersionedSnapshot sent(Publication publication, String group);
  }

  /**
   * @param fleet every connected Envoy's status
   * @param views what each group is sent of a publication, to judge its Envoys' answers by
   * @param trialPublisher publishes trial snapshots
   * @param lastGood told of each new reference, the last configuration known to hold no rejected
   *     registration (the cache sends an Envoy's rejected resources again unless it holds them)
   * @param running false once the pipeline stops: a search in progress ends without convicting
   *     anyone
   */
  public NackQuarantine(
      Quarantines quarantines,
      Fleet fleet,
      GroupViews views,
      SnapshotBuilder snapshots,
      TrialPublisher trialPublisher,
      Consumer<Publication> lastGood,
      BooleanSupplier running,
      Duration verdictTimeout) {
    this.quarantines = quarantines;
    this.views = views;
    this.configurations = new TrialConfigurations(snapshots);
    this.trialPublisher = trialPublisher;
    this.lastGood = lastGood;
    this.fleetAnswers = new FleetAnswers(fleet, views, running, verdictTimeout);
  }

  /**
   * An Envoy answered a response (ACK or NACK): a trial waiting for its verdict looks again. Any
   * thread.
   */
  public void answered() {
    fleetAnswers.answered();
  }

  /**
   * Looks at what the fleet made of the snapshot published last. Accepted: it becomes the
   * reference. Rejected by a change: the culprits are searched for and quarantined (trial snapshots
   * are published meanwhile; the caller publishes the registry's newest served state afterwards).
   * Pipeline thread only.
   */
  public void check(Publication published) {
    if (reference == null) {
      // Nothing was accepted yet: an empty registry is the reference, with the settings Envoy is
      // sent.
      reference(configurations.translate(RegistryState.EMPTY, published.settings()));
      if (reference == null) {
        return;
      }
    }
    Verdict verdict = fleetAnswers.verdict(published, reference);
    logExcused(verdict.excused());
    if (verdict.kind() == Kind.ACCEPTED) {
      reference(published);
    } else if (verdict.kind() == Kind.REJECTED && !published.version().equals(unattributed)) {
      attribute(published, verdict);
    }
  }

  /**
   * The last configuration known to hold no rejected registration is {@code publication}; the cache
   * is told, to judge Envoys' rejected resources against it.
   */
  private void reference(Publication publication) {
    reference = publication;
    tellCache(publication);
  }

  /**
   * Tells the cache the configuration it judges rejected resources against, once per configuration:
   * each telling drops the group views the cache made of the one before.
   */
  private void tellCache(Publication publication) {
    if (publication != null && publication != toldCache) {
      toldCache = publication;
      lastGood.accept(publication);
    }
  }

  private void attribute(Publication rejected, Verdict verdict) {
    log.warn(
        "Envoy rejected snapshot {}: {}; looking for the registration that caused it",
        rejected.version(),
        verdict.firstRejection().describe());
    new Search(rejected, verdict).run();
  }

  /** One search for the causes of one rejected snapshot. */
  private final class Search {
    private final long started = System.nanoTime();
    private final Publication rejected;

    /** Verdicts by snapshot version, so that no snapshot is tried twice. */
    private final Map<String, Verdict> judged = new HashMap<>();

    private List<Rejection> rejections;

    /** The configuration the trials add changes to; the last accepted one becomes the reference. */
    private Publication base = reference;

    private Publication lastAccepted = reference;
    private int trials;

    Search(Publication rejected, Verdict verdict) {
      this.rejected = rejected;
      this.rejections = verdict.rejections();
      judged.put(rejected.version(), verdict);
    }

    void run() {
      if (!base.settings().equals(rejected.settings()) && !trySettingsAlone()) {
        return;
      }
      SortedMap<String, Optional<ServiceState>> changes =
          TrialConfigurations.changedServices(base.state(), rejected.state());
      if (changes.isEmpty()) {
        reference(base);
        giveUp(rejected, "no registration changed since the last good configuration");
        return;
      }
      if (changes.size() > 1) {
        log.warn(
            "{} services changed since the last good configuration {}: {}; bisecting",
            changes.size(),
            base.version(),
            changes.keySet());
      }
      Bisection.Result result =
          Bisection.findCulprits(changes.keySet(), rejections.get(0).describe(), this::trial);
      reference(lastAccepted);
      if (!result.conclusive()) {
        giveUp(
            rejected,
            "a trial had no verdict within "
                + fleetAnswers.timeout()
                + " (an Envoy did not answer, or publishing "
                + "was paused)");
        return;
      }
      List<String> quarantined = new ArrayList<>();
      result
          .culprits()
          .forEach(
              (service, reason) -> {
                Optional<ServiceState> rejectedState = changes.get(service);
                if (rejectedState.isEmpty()) {
                  log.warn(
                      "Envoy rejects the removal of service {} ({}); a removal cannot be quarantined",
                      service,
                      reason);
                } else if (quarantines.quarantine(
                    service, rejectedState.get(), rejected.state().revision(), reason)) {
                  quarantined.add(service);
                  log.warn("Quarantined service {}: {}", service, reason);
                } else {
                  log.info(
                      "Service {} registered anew or left while Envoy rejected its previous state ({}); it is not "
                          + "quarantined",
                      service,
                      reason);
                }
              });
      log.warn(
          "Looked for the cause of rejected snapshot {} in {} ms with {} trial(s): quarantined {}; publishing "
              + "the last good configuration with every other change",
          rejected.version(),
          (System.nanoTime() - started) / 1_000_000,
          trials,
          quarantined);
      if (quarantined.isEmpty()) {
        unattributed = rejected.version();
      }
    }

    /**
     * The operator's settings changed since the reference as well: they are tried first, with the
     * registrations last accepted. Whatever Envoy makes of them becomes the base the registrations
     * are judged against.
     *
     * @return whether there is anything left to attribute to registrations
     */
    private boolean trySettingsAlone() {
      Publication settingsOnly = configurations.translate(base.state(), rejected.settings());
      Verdict verdict =
          settingsOnly == null
              ? null
              : judge(
                  settingsOnly, "the new gateway settings with the registrations last accepted");
      if (verdict == null || verdict.kind() == Kind.PENDING) {
        giveUp(
            rejected,
            "the trial of the new settings had no verdict within " + fleetAnswers.timeout());
        return false;
      }
      if (verdict.kind() == Kind.REJECTED) {
        log.error(
            "Envoy rejects the new gateway settings themselves ({}); that is not a registration's doing, so "
                + "nothing is quarantined: correct the settings",
            verdict.firstRejection().describe());
      }
      base = settingsOnly;
      lastAccepted = settingsOnly;
      // The trials are judged against it from now on: so are the resources the cache sends again.
      tellCache(settingsOnly);
      rejections =
          rejections.stream()
              .filter(r -> !r.sameIn(group -> views.sent(settingsOnly, group)))
              .toList();
      if (rejections.isEmpty()) {
        reference(settingsOnly);
        unattributed = rejected.version();
        return false;
      }
      return true;
    }

    private Bisection.Outcome trial(SortedSet<String> included) {
      Publication trial =
          configurations.translate(
              TrialConfigurations.compose(base.state(), rejected.state(), included),
              rejected.settings(),
              rejected.snapshot());
      if (trial == null) {
        return Bisection.Outcome.NO_VERDICT;
      }
      Verdict verdict = judge(trial, "the last good configuration + " + included);
      return switch (verdict.kind()) {
        case ACCEPTED -> {
          lastAccepted = trial;
          yield Bisection.Outcome.ACCEPTED;
        }
        case REJECTED -> Bisection.Outcome.rejected(verdict.firstRejection().describe());
        case PENDING -> Bisection.Outcome.NO_VERDICT;
      };
    }

    /** Publishes a trial (unless it was judged already) and waits for the fleet's verdict. */
    private Verdict judge(Publication trial, String description) {
      Verdict known =
          trial.version().equals(base.version())
              ? new Verdict(Kind.ACCEPTED, List.of(), List.of())
              : judged.get(trial.version());
      if (known != null
          && known.kind() == Kind.REJECTED
          && known.rejections().stream()
              .allMatch(r -> r.sameIn(group -> views.sent(base, group)))) {
        known =
            null; // judged against an older base, whose rejections this base holds as well: try it
        // again
      }
      if (known != null) {
        log.info(
            "Quarantine trial of {}: snapshot {} was judged already: {}",
            description,
            trial.version(),
            known.kind());
        return known;
      }
      long trialStarted = System.nanoTime();
      trials++;
      if (!trialPublisher.publish(trial)) {
        return new Verdict(Kind.PENDING, List.of(), List.of());
      }
      Verdict verdict = fleetAnswers.awaitVerdict(trial, base);
      judged.put(trial.version(), verdict);
      log.info(
          "Quarantine trial {} of {}: snapshot {} {} in {} ms{}",
          trials,
          description,
          trial.version(),
          switch (verdict.kind()) {
            case ACCEPTED -> "accepted";
            case REJECTED -> "rejected";
            case PENDING -> "not answered";
          },
          (System.nanoTime() - trialStarted) / 1_000_000,
          verdict.kind() == Kind.REJECTED ? " (" + verdict.firstRejection().describe() + ")" : "");
      return verdict;
    }
  }

  private void giveUp(Publication rejected, String why) {
    unattributed = rejected.version();
    log.warn(
        "The rejection of snapshot {} cannot be attributed to a registration: {}; nothing is quarantined, and "
            + "Envoy keeps the last configuration it accepted of the rejected type",
        rejected.version(),
        why);
  }

  private void logExcused(List<Rejection> excused) {
    for (Rejection rejection : excused) {
      if (loggedExcuses.size() >= MAX_LOGGED_EXCUSES) {
        loggedExcuses.clear();
      }
      if (loggedExcuses.add(
          rejection.nodeId() + " " + rejection.typeUrl() + " " + rejection.version())) {
        log.warn(
            "Not a registration's doing, nothing is quarantined: {} (the last good configuration holds the "
                + "same {})",
            rejection.describe(),
            XdsTypes.shortName(rejection.typeUrl()));
      }
    }
  }
}
