package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.signalbox.client.Routes;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.HttpProbe;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Seeded random and hostile registrations against a control plane with a real Envoy. Every call
 * answers one of the statuses a caller can act on within its deadline; twenty good services answer
 * 200 throughout; and every registration the control plane accepted becomes configuration Envoy
 * accepts — a NACK caused by an accepted registration is a validator bug, and the test prints the
 * registrations that caused it.
 *
 * <p>{@code -Dsignalbox.fuzz.calls=N} and {@code -Dsignalbox.fuzz.seed=S} run it longer or replay a
 * seed.
 */
@ExtendWith(EnvoyLogsOnFailure.class)
class RegistrationFuzzEndToEndTest {

  private static final int CALLS = Integer.getInteger("signalbox.fuzz.calls", 300);
  private static final long SEED = Long.getLong("signalbox.fuzz.seed", 20261203L);
  private static final int BATCH = 25;
  private static final Duration REACHES_ENVOY = Duration.ofSeconds(10);
  private static final Set<Status.Code> ANSWERS =
      Set.of(
          Status.Code.OK,
          Status.Code.INVALID_ARGUMENT,
          Status.Code.ALREADY_EXISTS,
          Status.Code.PERMISSION_DENIED,
          Status.Code.RESOURCE_EXHAUSTED);

  @Test
  void everyCallIsAnsweredGoodServicesKeepServingAndEnvoyAcceptsEverythingAccepted() {
    try (GatewayFixture gateway = GatewayFixture.start(EnvoyProcess.XdsMode.DELTA)) {
      List<String> good = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        good.add("good-" + i);
        gateway.serve("good-" + i, "good-" + i + "-1", Routes.prefix("/good-" + i));
      }
      good.forEach(
          service -> HttpProbe.awaitStatus(gateway.url("/" + service), 200, REACHES_ENVOY));
      long heapBefore = usedHeapAfterGc();
      RegistrationFuzzer fuzzer = new RegistrationFuzzer(SEED);
      Map<Status.Code, Integer> outcomes = new EnumMap<>(Status.Code.class);
      List<RegisterRequest> acceptedInBatch = new ArrayList<>();

      for (int call = 1; call <= CALLS; call++) {
        RegisterRequest request = fuzzer.next();
        Status.Code code;
        try {
          gateway.registryStub().register(request);
          code = Status.Code.OK;
          acceptedInBatch.add(request);
        } catch (StatusRuntimeException e) {
          code = e.getStatus().getCode();
          assertThat(ANSWERS)
              .as(
                  "call %d (seed %d) answered %s: %s%n%s",
                  call, SEED, code, e.getStatus().getDescription(), request)
              .contains(code);
        }
        outcomes.merge(code, 1, Integer::sum);
        if (call % BATCH == 0 || call == CALLS) {
          // A marker registered after the batch reaches Envoy only once everything before it has
          // been applied.
          String marker = "marker-" + call;
          gateway.serve(marker, marker + "-1", Routes.prefix("/" + marker));
          HttpProbe.awaitStatus(gateway.url("/" + marker), 200, REACHES_ENVOY);
          assertThat(nacks(gateway))
              .as(
                  "Envoy rejected configuration made of accepted registrations (seed %d, "
                      + "calls %d-%d):%n%s",
                  SEED, call - BATCH + 1, call, acceptedInBatch)
              .isZero();
          for (String service : good) {
            assertThat(HttpProbe.get(gateway.url("/" + service)).status())
                .as(service)
                .isEqualTo(200);
          }
          acceptedInBatch.clear();
        }
      }

      long heapAfter = usedHeapAfterGc();
      System.out.printf(
          "fuzz: %d calls (seed %d): %s; heap after GC %d MiB -> %d MiB%n",
          CALLS, SEED, outcomes, heapBefore >> 20, heapAfter >> 20);
      assertThat(outcomes.keySet())
          .as("the suite exercises refusals, not only acceptance")
          .contains(Status.Code.OK, Status.Code.INVALID_ARGUMENT);
      assertThat(heapAfter - heapBefore).as("heap growth in bytes").isLessThan(256L << 20);
    }
  }

  private static double nacks(GatewayFixture gateway) {
    return gateway
        .controlPlane()
        .metrics()
        .scrape()
        .lines()
        .filter(line -> line.startsWith("signalbox_xds_nacks_total"))
        .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
        .sum();
  }

  private static long usedHeapAfterGc() {
    Runtime runtime = Runtime.getRuntime();
    System.gc();
    return runtime.totalMemory() - runtime.freeMemory();
  }
}
