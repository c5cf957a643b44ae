package io.signalbox.xds;

import io.signalbox.xds.FleetVerdict.Kind;
import io.signalbox.xds.FleetVerdict.Verdict;
import io.signalbox.xds.NackQuarantine.Fleet;
import io.signalbox.xds.NackQuarantine.GroupViews;
import io.signalbox.xds.NackQuarantine.Publication;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * The fleet's verdict on a publication, found on the connected Envoys' records, or waited for: a
 * trial waits at most the verdict timeout, woken by every answer an Envoy gives (and looking every
 * 25 ms anyway).
 */
final class FleetAnswers {

  private static final long POLL_NANOS = Duration.ofMillis(25).toNanos();

  private final Fleet fleet;
  private final GroupViews views;
  private final BooleanSupplier running;
  private final long verdictTimeoutNanos;
  private final Object answers = new Object();

  /** A trial waits for its verdict: answers are signalled. */
  private volatile boolean awaitingVerdict;

  FleetAnswers(Fleet fleet, GroupViews views, BooleanSupplier running, Duration verdictTimeout) {
    this.fleet = fleet;
    this.views = views;
    this.running = running;
    this.verdictTimeoutNanos = verdictTimeout.toNanos();
  }

  /** An Envoy answered a response (ACK or NACK): a trial waiting for its verdict looks again. */
  void answered() {
    // Every ACK of the fleet comes through here: only a trial waiting for its verdict takes the
    // lock.
    if (awaitingVerdict) {
      synchronized (answers) {
        answers.notifyAll();
      }
    }
  }

  /**
   * The verdict on {@code published}, every group judged by what it was sent (a sidecar group, its
   * own snapshot), its rejections told from those {@code against} holds too.
   */
  Verdict verdict(Publication published, Publication against) {
    // Each group's view made once per verdict, however many of its Envoys are judged.
    Map<String, ContentVersionedSnapshot> sent = new HashMap<>();
    Function<String, ContentVersionedSnapshot> sentTo =
        group -> sent.computeIfAbsent(group, g -> views.sent(published, g));
    // Checked before each publication: without a rejection on record the verdict is found on the
    // fleet's records, stopping at the first Envoy still answering (the publications of a burst).
    Optional<Kind> withoutRejections = fleet.verdictWithoutRejections(sentTo);
    if (withoutRejections.isPresent()) {
      return new Verdict(withoutRejections.get(), List.of(), List.of());
    }
    Map<String, ContentVersionedSnapshot> reference = new HashMap<>();
    Function<String, ContentVersionedSnapshot> referenceTo =
        group -> reference.computeIfAbsent(group, g -> views.sent(against, g));
    // A rejection is on record: the statuses of the Envoys that reject decide, with how the
    // others stand; every status only when the fleet cannot be split so.
    return fleet
        .splitByRejections(sentTo)
        .map(split -> FleetVerdict.of(sentTo, referenceTo, split))
        .orElseGet(() -> FleetVerdict.of(sentTo, referenceTo, fleet.proxies()));
  }

  /**
   * The verdict on {@code trial}, waited for until it is not pending, the verdict timeout passes or
   * the pipeline stops.
   */
  Verdict awaitVerdict(Publication trial, Publication base) {
    awaitingVerdict = true;
    try {
      long deadline = System.nanoTime() + verdictTimeoutNanos;
      while (true) {
        Verdict verdict = verdict(trial, base);
        long left = deadline - System.nanoTime();
        if (verdict.kind() != Kind.PENDING || left <= 0 || !running.getAsBoolean()) {
          return verdict;
        }
        synchronized (answers) {
          try {
            answers.wait(Math.max(1, Math.min(left, POLL_NANOS) / 1_000_000));
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return verdict;
          }
        }
      }
    } finally {
      awaitingVerdict = false;
    }
  }

  /** "5000 ms". */
  String timeout() {
    return Duration.ofNanos(verdictTimeoutNanos).toMillis() + " ms";
  }
}
