package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.rpc.Status;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.signalbox.metrics.SignalboxMetrics;
import io.signalbox.testing.TestClock;
import io.signalbox.translate.XdsNames;
import io.signalbox.xds.FleetVerdict.Kind;
import io.signalbox.xds.FleetVerdict.Verdict;
import io.signalbox.xds.ProxyStatusTracker.SyncStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The quarantine's verdict found on the tracker's records ({@link
 * ProxyStatusTracker#verdictWithoutRejections}) is the verdict {@link FleetVerdict#of} finds on
 * every Envoy's status, whenever no Envoy has a rejection on record; with one on record it is left
 * to the full verdict.
 */
class VerdictWithoutRejectionsTest {

  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final String EDS = Resources.V3.ENDPOINT_TYPE_URL;
  private static final String RDS = Resources.V3.ROUTE_TYPE_URL;
  private static final List<String> TYPES = List.of(CDS, EDS, RDS);
  private static final Duration LAG_LIMIT = Duration.ofMillis(500);

  // The quarantine's own examples: a registry of orders, then of orders and billing.
  private static final ContentVersionedSnapshot REFERENCE = FleetVerdictTest.snapshot("orders");
  private static final ContentVersionedSnapshot NEXT =
      FleetVerdictTest.snapshot("orders", "billing");

  private final TestClock clock = new TestClock(Duration.ofDays(20_000));
  private final ProxyStatusTracker tracker =
      new ProxyStatusTracker(new NodeGroups(), clock, SignalboxMetrics.noop(), LAG_LIMIT);

  /** What the edge group was sent last, which the verdict is asked of. */
  private ContentVersionedSnapshot sentLast = NEXT;

  private final Function<String, ContentVersionedSnapshot> sentNext = group -> sentLast;

  /** The edge group is sent {@code snapshot}, as the pipeline tells the tracker. */
  private void groupSent(ContentVersionedSnapshot snapshot) {
    sentLast = snapshot;
    tracker.groupSent("edge");
  }

  private int nonces;

  private static Node node(long stream) {
    return Node.newBuilder().setId("edge-" + stream).setCluster("edge").build();
  }

  private static List<String> names(ContentVersionedSnapshot snapshot, String typeUrl) {
    return switch (typeUrl) {
      case EDS -> List.copyOf(snapshot.resources(ResourceType.ENDPOINT).keySet());
      case RDS -> List.of(XdsNames.GATEWAY_ROUTES);
      default -> List.of();
    };
  }

  // State of the world: requests carry the names, answers the version.

  private void sotwAsk(long stream, String typeUrl, List<String> names) {
    tracker.onRequest(stream, sotwRequest(stream, typeUrl, names).build());
  }

  private String sotwSend(long stream, String typeUrl, ContentVersionedSnapshot snapshot) {
    String nonce = String.valueOf(nonces++);
    tracker.onResponse(
        stream,
        DiscoveryResponse.newBuilder()
            .setTypeUrl(typeUrl)
            .setVersionInfo(snapshot.version(typeUrl, names(snapshot, typeUrl)))
            .setNonce(nonce)
            .build());
    return nonce;
  }

  private void sotwAnswer(
      long stream, String typeUrl, String nonce, ContentVersionedSnapshot acked, boolean reject) {
    DiscoveryRequest.Builder request =
        sotwRequest(stream, typeUrl, names(NEXT, typeUrl)).setResponseNonce(nonce);
    if (reject) {
      request.setErrorDetail(Status.newBuilder().setCode(3).setMessage("no"));
    }
    request.setVersionInfo(acked == null ? "" : acked.version(typeUrl, names(acked, typeUrl)));
    tracker.onRequest(stream, request.build());
  }

  private static DiscoveryRequest.Builder sotwRequest(
      long stream, String typeUrl, List<String> names) {
    return DiscoveryRequest.newBuilder()
        .setNode(node(stream))
        .setTypeUrl(typeUrl)
        .addAllResourceNames(names);
  }

  // Delta: answers name the nonce; the version is the one the response carried.

  private void deltaAsk(long stream, String typeUrl) {
    tracker.onDeltaRequest(
        stream,
        DeltaDiscoveryRequest.newBuilder()
            .setNode(node(stream))
            .setTypeUrl(typeUrl)
            .addAllResourceNamesSubscribe(typeUrl.equals(EDS) ? names(NEXT, EDS) : List.of())
            .build());
  }

  private String deltaSend(long stream, String typeUrl, ContentVersionedSnapshot snapshot) {
    String nonce = String.valueOf(nonces++);
    tracker.onDeltaResponse(
        stream,
        DeltaDiscoveryResponse.newBuilder()
            .setTypeUrl(typeUrl)
            .setSystemVersionInfo(snapshot.version(typeUrl, List.of()))
            .setNonce(nonce)
            .build());
    return nonce;
  }

  private void deltaAnswer(long stream, String typeUrl, String nonce, boolean reject) {
    DeltaDiscoveryRequest.Builder request =
        DeltaDiscoveryRequest.newBuilder()
            .setNode(node(stream))
            .setTypeUrl(typeUrl)
            .setResponseNonce(nonce);
    if (reject) {
      request.setErrorDetail(Status.newBuilder().setCode(3).setMessage("no"));
    }
    tracker.onDeltaRequest(stream, request.build());
  }

  private Optional<Kind> quickVerdict() {
    return tracker.verdictWithoutRejections(sentNext);
  }

  private Verdict fullVerdict() {
    return FleetVerdict.of(sentNext, group -> REFERENCE, tracker.proxies());
  }

  @Test
  void noEnvoyOrOnlyLaggingOnesMeansNoVerdictYet() {
    assertThat(quickVerdict()).contains(Kind.PENDING);

    sotwAsk(1, CDS, List.of());
    sotwSend(1, CDS, NEXT);
    clock.advance(LAG_LIMIT.plusMillis(1));

    assertThat(quickVerdict()).contains(Kind.PENDING);
    assertThat(fullVerdict().kind()).isEqualTo(Kind.PENDING);
  }

  @Test
  void isAcceptedOnceEveryEnvoyAcknowledgedWhatItsGroupWasSent() {
    for (long stream = 1; stream <= 2; stream++) {
      sotwAsk(stream, CDS, List.of());
      String nonce = sotwSend(stream, CDS, NEXT);
      assertThat(quickVerdict()).as("edge-%d still answering", stream).contains(Kind.PENDING);
      sotwAnswer(stream, CDS, nonce, NEXT, false);
    }

    assertThat(quickVerdict()).contains(Kind.ACCEPTED);

    deltaAsk(3, CDS);
    deltaAnswer(3, CDS, deltaSend(3, CDS, REFERENCE), false);
    assertThat(quickVerdict()).as("edge-3 runs the reference").contains(Kind.PENDING);
  }

  @Test
  void aLaggingEnvoyNeitherDelaysNorDecidesTheVerdict() {
    sotwAsk(1, CDS, List.of());
    sotwSend(1, CDS, NEXT);
    clock.advance(LAG_LIMIT.plusMillis(1));
    sotwAsk(2, CDS, List.of());
    sotwAnswer(2, CDS, sotwSend(2, CDS, NEXT), NEXT, false);

    assertThat(quickVerdict()).contains(Kind.ACCEPTED);
  }

  @Test
  void aRejectionOnRecordLeavesTheVerdictToEveryEnvoysStatus() {
    sotwAsk(1, CDS, List.of());
    sotwAnswer(1, CDS, sotwSend(1, CDS, NEXT), null, true);
    sotwAsk(2, CDS, List.of());
    sotwAnswer(2, CDS, sotwSend(2, CDS, NEXT), NEXT, false);

    assertThat(quickVerdict()).isEmpty();
    assertThat(fullVerdict().kind()).isEqualTo(Kind.REJECTED);

    tracker.onStreamClosed(1);
    assertThat(quickVerdict()).as("the rejection left with its stream").contains(Kind.ACCEPTED);
  }

  @Test
  void aRejectionNoLongerCountsOnceSomethingIsSentAfterIt() {
    deltaAsk(1, CDS);
    deltaAnswer(1, CDS, deltaSend(1, CDS, REFERENCE), true);
    assertThat(quickVerdict()).isEmpty();

    String nonce = deltaSend(1, CDS, NEXT);
    assertThat(quickVerdict()).contains(Kind.PENDING);
    deltaAnswer(1, CDS, nonce, false);
    assertThat(quickVerdict()).contains(Kind.ACCEPTED);
  }

  @Test
  void anEnvoyThatHeldWhatItsGroupWasSentIsJudgedAgainOnceItIsSentSomething() {
    deltaAsk(2, EDS);
    deltaAnswer(2, EDS, deltaSend(2, EDS, REFERENCE), false);
    assertThat(quickVerdict())
        .as("a delta Envoy in sync holds the endpoints it asked for")
        .contains(Kind.ACCEPTED);

    deltaSend(2, EDS, NEXT);

    assertThat(quickVerdict()).contains(Kind.PENDING);
    assertThat(fullVerdict().kind()).isEqualTo(Kind.PENDING);
  }

  @Test
  void anEnvoyThatHeldWhatItsGroupWasSentWithAResponseUnansweredNoLongerDecidesOnceItLags() {
    deltaAsk(2, CDS);
    deltaAnswer(2, CDS, deltaSend(2, CDS, NEXT), false);
    deltaSend(2, CDS, NEXT);
    assertThat(quickVerdict())
        .as("it acknowledged what its group was sent, and is sent it again")
        .contains(Kind.ACCEPTED);

    clock.advance(LAG_LIMIT.plusMillis(1));

    assertThat(fullVerdict().kind()).as("no Envoy decides").isEqualTo(Kind.PENDING);
    assertThat(quickVerdict()).contains(Kind.PENDING);
  }

  @Test
  void anEnvoyWhoseGroupsSnapshotCouldNotBeHadIsJudgedByTheNextVerdict() {
    deltaAsk(1, CDS);
    deltaAnswer(1, CDS, deltaSend(1, CDS, REFERENCE), false);

    assertThatThrownBy(
            () ->
                tracker.verdictWithoutRejections(
                    group -> {
                      throw new IllegalStateException("no snapshot of " + group);
                    }))
        .isInstanceOf(IllegalStateException.class);

    assertThat(quickVerdict())
        .as("edge-1 runs the reference, not what was sent")
        .contains(Kind.PENDING);
  }

  @Test
  void anEnvoyThatHeldWhatItsGroupWasSentIsJudgedAgainOnceTheGroupIsSentAnother() {
    sotwAsk(1, CDS, List.of());
    sotwAnswer(1, CDS, sotwSend(1, CDS, NEXT), NEXT, false);
    assertThat(quickVerdict()).contains(Kind.ACCEPTED);

    groupSent(REFERENCE);

    assertThat(quickVerdict()).contains(Kind.PENDING);
    assertThat(fullVerdict().kind()).isEqualTo(Kind.PENDING);
  }

  /**
   * Random fleets of state-of-the-world and delta Envoys asking, being sent the reference or the
   * next snapshot, acknowledging, rejecting, lagging and leaving, while the group is sent one
   * snapshot or the other (which the verdict is asked of): after every step, the verdict on the
   * records is the verdict on the statuses, and it is left open whenever a status shows a rejection
   * (also, for a moment, when a delta Envoy rejected a response it has already been sent another
   * one after); and the verdict from the statuses of only the Envoys that reject, with how the
   * others stand, is always the verdict on every status.
   */
  @Test
  void findsWhatTheVerdictOnEveryEnvoysStatusFinds() {
    Random random = new Random(20261206);
    int judged = 0;
    int splitWithRejections = 0;
    List<Kind> seen = new ArrayList<>();
    for (int fleet = 0; fleet < 200; fleet++) {
      VerdictWithoutRejectionsTest scenario = new VerdictWithoutRejectionsTest();
      List<String[]> unanswered = new ArrayList<>(); // stream, type, nonce, mode
      // Four Envoys, two on delta (even stream ids); one that leaves comes back on a new stream.
      long[] streams = {0, 1, 2, 3, 4};
      for (int step = 0; step < 40; step++) {
        int envoy = 1 + random.nextInt(4);
        long stream = streams[envoy];
        boolean delta = stream % 2 == 0;
        String typeUrl = TYPES.get(random.nextInt(TYPES.size()));
        ContentVersionedSnapshot snapshot = random.nextInt(3) == 0 ? REFERENCE : NEXT;
        switch (random.nextInt(7)) {
          case 0, 1 -> {
            if (delta) {
              scenario.deltaAsk(stream, typeUrl);
              unanswered.add(
                  new String[] {
                    Long.toString(stream), typeUrl, scenario.deltaSend(stream, typeUrl, snapshot)
                  });
            } else {
              scenario.sotwAsk(stream, typeUrl, names(snapshot, typeUrl));
              unanswered.add(
                  new String[] {
                    Long.toString(stream),
                    typeUrl,
                    scenario.sotwSend(stream, typeUrl, snapshot),
                    snapshot == NEXT ? "next" : "reference"
                  });
            }
          }
          case 2, 3 -> {
            if (!unanswered.isEmpty()) {
              String[] sent = unanswered.remove(random.nextInt(unanswered.size()));
              long answering = Long.parseLong(sent[0]);
              boolean reject = random.nextInt(5) == 0;
              if (answering % 2 == 0) {
                scenario.deltaAnswer(answering, sent[1], sent[2], reject);
              } else {
                scenario.sotwAnswer(
                    answering, sent[1], sent[2], sent[3].equals("next") ? NEXT : REFERENCE, reject);
              }
            }
          }
          case 4 -> scenario.clock.advance(Duration.ofMillis(random.nextInt(300)));
          case 5 -> scenario.groupSent(scenario.sentLast == NEXT ? REFERENCE : NEXT);
          default -> {
            if (random.nextInt(4) == 0) {
              scenario.tracker.onStreamClosed(stream);
              unanswered.removeIf(sent -> Long.parseLong(sent[0]) == stream);
              streams[envoy] += 4;
            }
          }
        }
        Verdict full = scenario.fullVerdict();
        boolean rejectionShown =
            scenario.tracker.proxies().stream()
                .flatMap(proxy -> proxy.types().values().stream())
                .anyMatch(type -> type.status() == SyncStatus.NACKED);
        Optional<Kind> quick = scenario.quickVerdict();
        if (rejectionShown) {
          assertThat(quick).as("fleet %d step %d: a rejection is on record", fleet, step).isEmpty();
        }
        Verdict split =
            FleetVerdict.of(
                scenario.sentNext,
                group -> REFERENCE,
                scenario.tracker.splitByRejections(scenario.sentNext).orElseThrow());
        assertThat(split)
            .as("fleet %d step %d: from the statuses of the Envoys that reject", fleet, step)
            .isEqualTo(full);
        if (!full.rejections().isEmpty() || !full.excused().isEmpty()) {
          splitWithRejections++;
        }
        if (quick.isPresent()) {
          assertThat(quick.get()).as("fleet %d step %d", fleet, step).isEqualTo(full.kind());
          judged++;
          seen.add(quick.get());
        }
      }
    }
    assertThat(judged).as("steps judged on the records").isGreaterThan(2_000);
    assertThat(splitWithRejections)
        .as("steps judged apart with rejections to tell")
        .isGreaterThan(500);
    assertThat(seen).contains(Kind.ACCEPTED, Kind.PENDING);
  }
}
