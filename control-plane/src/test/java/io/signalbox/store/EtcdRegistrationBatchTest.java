package io.signalbox.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RouteSpec;
import io.signalbox.testing.EtcdProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Registrations through one replica share etcd transactions (group commit) with the outcome of
 * making them one after another: two replicas' stores on one real etcd.
 */
class EtcdRegistrationBatchTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(2);

  /**
   * How long a replica may take to see another's write, or a lease to be expired: waits end as soon
   * as it does, and a busy machine's etcd may take over a second to commit and tell.
   */
  private static final Duration PATIENCE = Duration.ofSeconds(10);

  private EtcdProcess etcd;
  private EtcdReplicas replicas;
  private final ExecutorService pool = Executors.newFixedThreadPool(16);

  @BeforeEach
  void startEtcd() {
    etcd = EtcdProcess.launch();
    replicas = new EtcdReplicas(etcd, TIMEOUT);
  }

  @AfterEach
  void stopAll() {
    pool.shutdownNow();
    replicas.close();
    etcd.close();
  }

  private EtcdRegistryStore replica() {
    return replicas.replica();
  }

  private static Registration registration(String service, String instanceId, String... prefixes) {
    return new Registration(
        service,
        Instance.of(instanceId, "10.0.0.1", 8080),
        java.util.Arrays.stream(prefixes)
            .map(prefix -> RouteSpec.builder(PathMatch.prefix(prefix)).build())
            .toList());
  }

  /**
   * Starts every registration at once; each future says whether it was acknowledged or lost its
   * route.
   */
  private List<Future<Boolean>> registerAtOnce(
      EtcdRegistryStore store, List<Registration> registrations) {
    CountDownLatch start = new CountDownLatch(1);
    List<Future<Boolean>> outcomes = new ArrayList<>();
    for (Registration registration : registrations) {
      Callable<Boolean> attempt =
          () -> {
            start.await();
            try {
              return store.register(registration, Optional.empty()) != null;
            } catch (RouteConflictException e) {
              return false;
            }
          };
      outcomes.add(pool.submit(attempt));
    }
    start.countDown();
    return outcomes;
  }

  private static List<Boolean> outcomes(List<Future<Boolean>> futures) throws Exception {
    List<Boolean> outcomes = new ArrayList<>();
    for (Future<Boolean> future : futures) {
      outcomes.add(future.get());
    }
    return outcomes;
  }

  private static void awaitConverged(EtcdRegistryStore a, EtcdRegistryStore b) {
    await().atMost(PATIENCE).until(() -> a.appliedRevision() == b.appliedRevision());
    assertThat(b.state().services()).isEqualTo(a.state().services());
  }

  @Test
  void registrationsArrivingTogetherShareTransactions() throws Exception {
    EtcdRegistryStore a = replica();
    List<Registration> registrations = new ArrayList<>();
    for (int i = 0; i < 320; i++) {
      registrations.add(registration("svc-" + i, "i-" + i, "/svc-" + i));
    }

    long revisionBefore = a.appliedRevision();

    assertThat(outcomes(registerAtOnce(a, registrations))).containsOnly(true).hasSize(320);

    assertThat(a.leaseCounts().live()).isEqualTo(320);
    // Each transaction etcd commits is one revision; nothing else writes meanwhile.
    assertThat(a.appliedRevision() - revisionBefore)
        .as("16 callers, up to 16 registrations per transaction")
        .isLessThan(320 * 3 / 4);
  }

  @Test
  void twoServicesRegisteringTheSameRouteAtOnceThroughOneReplicaLetExactlyOneOwnIt()
      throws Exception {
    EtcdRegistryStore a = replica();
    EtcdRegistryStore b = replica();
    for (int round = 0; round < 20; round++) {
      String path = "/shared-" + round;
      List<Boolean> outcomes =
          outcomes(
              registerAtOnce(
                  a,
                  List.of(
                      registration("alpha-" + round, "a1", path),
                      registration("beta-" + round, "b1", path))));

      assertThat(outcomes).as("round " + round).containsExactlyInAnyOrder(true, false);
      String winner = outcomes.get(0) ? "alpha-" + round : "beta-" + round;
      assertThat(a.state().services().get(winner).routes())
          .extracting(r -> r.match().path().value())
          .containsExactly(path);
    }
    assertThat(a.state().services()).hasSize(20);
    awaitConverged(a, b);
  }

  @Test
  void aRouteOwnedByAServiceRegisteringInTheSameTransactionIsCheckedAfterIt() throws Exception {
    EtcdRegistryStore a = replica();
    EtcdRegistryStore b = replica();
    a.register(registration("alpha", "a1", "/old"), Optional.empty());
    String current = "/old";
    for (int round = 0; round < 20; round++) {
      // alpha moves to a new route while beta asks for the one alpha leaves (even rounds) or the
      // one it takes.
      String taken = "/alpha-" + round;
      String wanted = round % 2 == 0 ? current : taken;
      List<Boolean> outcomes =
          outcomes(
              registerAtOnce(
                  a,
                  List.of(
                      registration("alpha", "a1", taken),
                      registration("beta-" + round, "b1", wanted))));
      boolean alphaMoved = outcomes.get(0);
      boolean betaRegistered = outcomes.get(1);

      // As if one after the other, in either order: beta gets the route alpha leaves only after
      // alpha moved, and
      // of two services asking for the same new route the first keeps it.
      if (wanted.equals(taken)) {
        assertThat(List.of(alphaMoved, betaRegistered))
            .as("round " + round)
            .containsExactlyInAnyOrder(true, false);
      } else {
        assertThat(alphaMoved).as("round " + round).isTrue();
      }
      if (alphaMoved) {
        current = taken;
      }
      assertThat(a.state().services().get("alpha").routes())
          .extracting(r -> r.match().path().value())
          .containsExactly(current);
      if (betaRegistered) {
        assertThat(a.state().services().get("beta-" + round).routes())
            .extracting(r -> r.match().path().value())
            .containsExactly(wanted);
      }
    }
    awaitConverged(a, b);
  }

  @Test
  void
      concurrentRegistrationsOfOneServiceWithDifferentRoutesEndWithTheRoutesOfOneOfThemOnEveryReplica()
          throws Exception {
    EtcdRegistryStore a = replica();
    EtcdRegistryStore b = replica();
    for (int round = 0; round < 5; round++) {
      List<Registration> registrations = new ArrayList<>();
      List<List<String>> routesOffered = new ArrayList<>();
      for (int i = 0; i < 16; i++) {
        // Half of them share routes, so that some can share a transaction.
        String path = "/orders-" + round + "-" + (i % 2 == 0 ? "even" : Integer.toString(i));
        registrations.add(registration("orders", "o" + i, path));
        routesOffered.add(List.of(path));
      }

      assertThat(outcomes(registerAtOnce(a, registrations))).containsOnly(true);

      awaitConverged(a, b);
      assertThat(a.state().services().get("orders").instances()).hasSize(16);
      assertThat(routesOffered)
          .contains(
              a.state().services().get("orders").routes().stream()
                  .map(r -> r.match().path().value())
                  .toList());
    }
    // A registration made after every other was acknowledged sets the routes.
    a.register(registration("orders", "o3", "/orders-last"), Optional.empty());
    awaitConverged(a, b);
    assertThat(b.state().services().get("orders").routes())
        .extracting(r -> r.match().path().value())
        .containsExactly("/orders-last");
  }

  @Test
  void aBatchMemberWhoseLeaseWasDrainedMeanwhileStaysDrained() throws Exception {
    EtcdRegistryStore a = replica();
    EtcdRegistryStore b = replica();
    a.register(registration("orders", "o1", "/orders"), Optional.empty());
    await().atMost(PATIENCE).until(() -> b.leaseCounts().live() == 1);
    replicas.client(b).endWatches();
    a.setDrained("orders", "o1", true, "spiffe://signalbox.local/operator/test");

    List<Registration> registrations = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      registrations.add(registration("orders", "o" + (i + 1), "/orders"));
    }
    List<Future<Boolean>> registered = registerAtOnce(b, registrations);
    // b's transaction fails on o1's lease key and waits to catch up: its watch resumes meanwhile.
    Thread.sleep(300);
    replicas.client(b).reportWatchErrors();

    assertThat(outcomes(registered)).containsOnly(true);
    awaitConverged(a, b);
    for (EtcdRegistryStore replica : List.of(a, b)) {
      assertThat(replica.engine().registeredInstances())
          .filteredOn(i -> i.instance().id().equals("o1"))
          .extracting(RegisteredInstance::drained)
          .containsExactly(true);
      assertThat(replica.state().services().get("orders").instances())
          .extracting(i -> i.id())
          .hasSize(15)
          .doesNotContain("o1");
    }
  }

  @Test
  void largeRegistrationsArrivingTogetherShareNoTransactionOverEtcdsRequestLimit()
      throws Exception {
    EtcdRegistryStore a = replica();
    // Four registrations of ~600 KB each: together far over etcd's default 1.5 MiB request limit.
    List<Future<Lease>> answers = new ArrayList<>();
    CountDownLatch start = new CountDownLatch(1);
    for (int i = 0; i < 4; i++) {
      String service = "big-" + i;
      String[] prefixes =
          java.util.stream.IntStream.range(0, 2_500)
              .mapToObj(route -> "/" + service + "/" + route + "/" + "x".repeat(200))
              .toArray(String[]::new);
      Registration large = registration(service, "i-1", prefixes);
      answers.add(
          pool.submit(
              () -> {
                start.await();
                return a.register(large, Optional.empty());
              }));
    }
    start.countDown();

    for (Future<Lease> answer : answers) {
      assertThat(answer.get()).isNotNull();
    }
    assertThat(a.state().services()).hasSize(4);
  }
}
