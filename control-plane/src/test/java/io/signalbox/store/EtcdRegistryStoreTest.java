package io.signalbox.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.PutOption;
import io.signalbox.metrics.SignalboxMetrics;
import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RouteSpec;
import io.signalbox.testing.EtcdProcess;
import java.nio.charset.StandardCharsets;
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

/** Two replicas' stores on one real etcd. */
class EtcdRegistryStoreTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(2);

  /**
   * How long a replica may take to see another's write, or a lease to be expired: waits end as soon
   * as it does, and a busy machine's etcd may take over a second to commit and tell.
   */
  private static final Duration PATIENCE = Duration.ofSeconds(10);

  private EtcdProcess etcd;
  private EtcdReplicas replicas;

  @BeforeEach
  void startEtcd() {
    etcd = EtcdProcess.launch();
    replicas = new EtcdReplicas(etcd, TIMEOUT);
  }

  @AfterEach
  void stopAll() {
    replicas.close();
    etcd.close();
  }

  private EtcdRegistryStore replica() {
    return replicas.replica();
  }

  private EtcdRegistryStore replica(String name) {
    return replicas.replica(name);
  }

  private EtcdRegistryStore replica(String name, int readPageSize) {
    return replicas.replica(name, readPageSize);
  }

  private void stop(EtcdRegistryStore replica) {
    replicas.stop(replica);
  }

  private static Registration registration(String service, String instanceId, String prefix) {
    return new Registration(
        service,
        Instance.of(instanceId, "10.0.0.1", 8080),
        List.of(RouteSpec.builder(PathMatch.prefix(prefix)).build()));
  }

  @Test
  void aRegistrationThroughOneReplicaIsInTheOthersStateWhenAcknowledged() {
    EtcdRegistryStore a = replica();
    EtcdRegistryStore b = replica();

    Lease lease = a.register(registration("orders", "o1", "/orders"), Optional.empty());

    await().atMost(PATIENCE).until(() -> b.state().services().containsKey("orders"));
    assertThat(b.state().services()).isEqualTo(a.state().services());
    assertThat(b.engine().registeredInstances())
        .extracting(RegisteredInstance::leaseId)
        .containsExactly(lease.id());
  }

  @Test
  void aReplicaStartedLaterReadsTheSameRegistry() {
    EtcdRegistryStore a = replica();
    a.register(registration("orders", "o1", "/orders"), Optional.empty());
    a.register(registration("orders", "o2", "/orders/v2"), Optional.empty());
    a.register(registration("users", "u1", "/users"), Optional.empty());

    EtcdRegistryStore late = replica();

    assertThat(late.state().services()).isEqualTo(a.state().services());
    // The newest registration of a service sets its routes, on every replica.
    assertThat(late.state().services().get("orders").routes())
        .extracting(r -> r.match().path().value())
        .containsExactly("/orders/v2");
  }

  @Test
  void keepAliveAndDeregistrationWorkThroughAnyReplica() {
    EtcdRegistryStore a = replica();
    EtcdRegistryStore b = replica();
    Lease lease =
        a.register(registration("orders", "o1", "/orders"), Optional.of(Duration.ofSeconds(5)));
    await().atMost(PATIENCE).until(() -> b.state().services().containsKey("orders"));

    assertThat(b.renew(lease.id())).contains(new Lease(lease.id(), Duration.ofSeconds(5)));
    assertThat(b.deregister(lease.id())).isTrue();

    assertThat(b.state().services()).isEmpty();
    await().atMost(PATIENCE).until(() -> a.state().services().isEmpty());
    assertThat(a.renew(lease.id())).isEmpty();
    assertThat(a.deregister(lease.id())).isFalse();
  }

  @Test
  void anInstanceLiveUnderAnotherIdentitysLeaseIsRefusedThroughAnyReplica() {
    EtcdRegistryStore a = replica();
    EtcdRegistryStore b = replica();
    Lease lease =
        a.register(
            registration("orders", "o1", "/orders").withRegistrant("spiffe://example.org/orders"),
            Optional.empty());
    await().atMost(PATIENCE).until(() -> b.engine().leaseIdOf("orders", "o1").isPresent());

    assertThatThrownBy(
            () ->
                b.register(
                    registration("orders", "o1", "/stolen")
                        .withRegistrant("spiffe://example.org/other"),
                    Optional.empty()))
        .isInstanceOf(NotLeaseOwnerException.class)
        .hasMessageNotContaining(lease.id());
    assertThatThrownBy(() -> b.deregister(lease.id(), "spiffe://example.org/other"))
        .isInstanceOf(NotLeaseOwnerException.class);

    assertThat(a.state().services().get("orders").routes())
        .extracting(r -> r.match().path().value())
        .containsExactly("/orders");
    assertThat(b.renew(lease.id(), "spiffe://example.org/orders")).isPresent();
    assertThat(b.deregister(lease.id(), "spiffe://example.org/orders")).isTrue();
  }

  @Test
  void aDrainMadeThroughOneReplicaHoldsOnEveryReplicaAndOutlivesARegistrationOfTheSameInstance() {
    EtcdRegistryStore a = replica();
    EtcdRegistryStore b = replica();
    a.register(registration("orders", "o1", "/orders"), Optional.empty());
    a.register(registration("orders", "o2", "/orders/v2"), Optional.empty());
    await().atMost(PATIENCE).until(() -> b.state().services().containsKey("orders"));

    assertThat(
            b.setDrained("orders", "o1", true, "spiffe://signalbox.local/operator/test").drained())
        .isTrue();
    await()
        .atMost(PATIENCE)
        .until(() -> a.state().services().get("orders").instances().size() == 1);
    // The drain keeps o1's registration order: o2, registered later, still sets the routes.
    assertThat(a.state().services()).isEqualTo(b.state().services());
    assertThat(a.state().services().get("orders").routes())
        .extracting(r -> r.match().path().value())
        .containsExactly("/orders/v2");

    a.register(registration("orders", "o1", "/orders/v3"), Optional.empty());
    await()
        .atMost(PATIENCE)
        .until(
            () ->
                b.state()
                    .services()
                    .get("orders")
                    .routes()
                    .get(0)
                    .match()
                    .path()
                    .value()
                    .equals("/orders/v3"));
    assertThat(b.engine().registeredInstances())
        .filteredOn(i -> i.instance().id().equals("o1"))
        .extracting(RegisteredInstance::drained)
        .containsExactly(true);

    assertThat(a.evict("orders", Optional.empty(), "spiffe://signalbox.local/operator/test"))
        .containsExactly("o1", "o2");
    await().atMost(PATIENCE).until(() -> b.state().services().isEmpty());
    assertThatThrownBy(
            () -> b.setDrained("orders", "o1", false, "spiffe://signalbox.local/operator/test"))
        .isInstanceOf(NotRegisteredException.class);
  }

  @Test
  void aRevocationThroughOneReplicaRemovesTheRefusedInstancesFromEveryReplica() {
    EtcdRegistryStore a = replica();
    EtcdRegistryStore b = replica();
    a.register(registration("orders", "o1", "/orders"), Optional.empty());
    a.register(registration("orders", "o2", "/orders"), Optional.empty());
    a.register(registration("users", "u1", "/users"), Optional.empty());
    await().atMost(PATIENCE).until(() -> b.engine().instanceCount() == 3);

    List<RevokedRegistration> revoked =
        b.revoke(
            registration -> {
              if (registration.instance().id().equals("o2")) {
                // Registered again while judged: the new registration was admitted, and stays.
                a.register(registration("orders", "o2", "/orders/v2"), Optional.empty());
              }
              if (registration.instance().id().equals("o1")) {
                // Drained through the other replica while judged: the key is rewritten with the
                // same registration (usually before b has seen it), which is still refused.
                a.setDrained("orders", "o1", true, "spiffe://signalbox.local/operator/test");
              }
              return registration.service().equals("orders")
                  ? Optional.of("routes[0].hosts: refused")
                  : Optional.empty();
            },
            "revoked by test");

    assertThat(revoked)
        .extracting(r -> r.service() + "/" + r.instanceId() + ": " + r.reason())
        .containsExactly("orders/o1: routes[0].hosts: refused");
    await()
        .atMost(PATIENCE)
        .until(() -> a.state().services().get("orders").instances().size() == 1);
    assertThat(a.state().services()).isEqualTo(b.state().services());
    assertThat(a.state().services().get("orders").routes())
        .extracting(r -> r.match().path().value())
        .containsExactly("/orders/v2");
  }

  @Test
  void aServingStatusReportedThroughOneReplicaHoldsOnEveryReplicaAndOutlivesARegistration() {
    EtcdRegistryStore a = replica();
    EtcdRegistryStore b = replica();
    Lease o1 = a.register(registration("orders", "o1", "/orders"), Optional.empty());
    a.register(registration("orders", "o2", "/orders"), Optional.empty());
    await().atMost(PATIENCE).until(() -> b.state().services().containsKey("orders"));

    assertThat(b.setServing(o1.id(), false, "")).isTrue();
    await()
        .atMost(PATIENCE)
        .until(() -> a.state().services().get("orders").notServing().contains("o1"));
    assertThat(a.state().services().get("orders").instances())
        .as("still an instance, only not serving")
        .hasSize(2);
    assertThat(a.state().services()).isEqualTo(b.state().services());

    a.register(registration("orders", "o1", "/orders"), Optional.empty());
    assertThat(a.state().services().get("orders").notServing()).containsExactly("o1");

    assertThat(a.setServing(o1.id(), true, "")).isTrue();
    await().atMost(PATIENCE).until(() -> b.state().services().get("orders").notServing().isEmpty());
    assertThat(a.setServing("no-such-lease", false, "")).isFalse();
  }

  @Test
  void aReplicaWhoseWatchEndedForGoodReadsTheWholeRegistryAgain() {
    EtcdRegistryStore a = replica();
    EtcdRegistryStore b = replica();
    Lease orders = a.register(registration("orders", "o1", "/orders"), Optional.empty());
    await().atMost(PATIENCE).until(() -> b.state().services().containsKey("orders"));

    replicas.client(b).endWatches();
    a.register(registration("users", "u1", "/users"), Optional.empty());
    a.deregister(orders.id());
    assertThat(b.state().services())
        .as("nothing moves without the watch")
        .containsOnlyKeys("orders");
    replicas.client(b).reportWatchErrors();

    await()
        .atMost(PATIENCE)
        .until(() -> b.state().services().keySet().equals(java.util.Set.of("users")));
    assertThat(b.state().services()).isEqualTo(a.state().services());
    // And it follows the registry again.
    a.register(registration("carts", "c1", "/carts"), Optional.empty());
    await().atMost(PATIENCE).until(() -> b.state().services().containsKey("carts"));
  }

  @Test
  void aRegistryLargerThanOneReadIsReadInPagesOfOneRevision() {
    EtcdRegistryStore a = replica();
    for (int i = 0; i < 7; i++) {
      Lease lease =
          a.register(registration("svc-" + i % 3, "i-" + i, "/svc-" + i % 3), Optional.empty());
      a.renew(lease.id());
    }

    EtcdRegistryStore b = replica("replica-b", 2);
    assertThat(b.leaseCounts().live()).as("read at start, 2 keys at a time").isEqualTo(7);
    replicas.client(b).endWatches();
    replicas.client(b).reportWatchErrors();
    a.register(registration("svc-3", "i-7", "/svc-3"), Optional.empty());

    await().atMost(PATIENCE).until(() -> b.leaseCounts().live() == 8);
    assertThat(b.state().services()).isEqualTo(a.state().services()).hasSize(4);
    assertThat(b.engine().registeredInstances())
        .extracting(RegisteredInstance::leaseId)
        .isEqualTo(
            a.engine().registeredInstances().stream().map(RegisteredInstance::leaseId).toList());
  }

  @Test
  void aLeaseThatNobodyRenewsIsExpiredByTheFirstReplicaByNameAndGoneFromEvery() {
    EtcdRegistryStore a = replica("replica-a");
    EtcdRegistryStore b = replica("replica-b");
    a.register(registration("orders", "o1", "/orders"), Optional.of(Duration.ofSeconds(1)));
    assertThat(a.expireLeases()).as("not yet expired").isZero();
    await().atMost(PATIENCE).until(() -> b.state().services().containsKey("orders"));

    await()
        .atMost(PATIENCE)
        .until(() -> b.leaseCounts().equals(new RegistryStore.LeaseCounts(1, 1)));
    assertThat(b.expireLeases()).as("replica-b leaves expiry to replica-a").isZero();
    assertThat(a.expireLeases()).isEqualTo(1);

    assertThat(a.state().services()).isEmpty();
    await().atMost(PATIENCE).until(() -> b.state().services().isEmpty());
    assertThat(b.leaseCounts()).isEqualTo(new RegistryStore.LeaseCounts(0, 0));
  }

  @Test
  void whenTheReplicaThatExpiresLeasesStopsTheNextOneTakesOver() {
    EtcdRegistryStore a = replica("replica-a");
    EtcdRegistryStore b = replica("replica-b");
    b.register(registration("orders", "o1", "/orders"), Optional.of(Duration.ofSeconds(1)));
    await().atMost(PATIENCE).until(() -> b.leaseCounts().expired() == 1);
    assertThat(b.expireLeases()).isZero();

    assertThat(b.presentReplicas()).containsExactly("replica-a", "replica-b");
    assertThat(a.removesExpiredLeases()).isTrue();
    assertThat(b.removesExpiredLeases()).isFalse();

    stop(a);

    await().atMost(PATIENCE).until(() -> b.expireLeases() == 1);
    assertThat(b.presentReplicas()).containsExactly("replica-b");
    assertThat(b.removesExpiredLeases()).isTrue();
    assertThat(b.state().services()).isEmpty();
  }

  @Test
  void aRegistrationThroughAReplicaThatHasNotSeenADrainDoesNotUndoIt() {
    EtcdRegistryStore a = replica();
    EtcdRegistryStore b = replica();
    a.register(registration("orders", "o1", "/orders"), Optional.empty());
    a.register(registration("orders", "o2", "/orders"), Optional.empty());
    await().atMost(PATIENCE).until(() -> b.leaseCounts().live() == 2);
    replicas.client(b).endWatches();

    a.setDrained("orders", "o1", true, "spiffe://signalbox.local/operator/test");
    assertThatThrownBy(() -> b.register(registration("orders", "o1", "/orders"), Optional.empty()))
        .as("b cannot catch up without its watch")
        .isInstanceOf(StoreUnavailableException.class);

    assertThat(a.engine().registeredInstances())
        .filteredOn(i -> i.instance().id().equals("o1"))
        .extracting(RegisteredInstance::drained)
        .containsExactly(true);
    replicas.client(b).reportWatchErrors();
    await()
        .atMost(PATIENCE)
        .untilAsserted(
            () ->
                assertThat(b.register(registration("orders", "o1", "/orders"), Optional.empty()))
                    .isNotNull());
    await()
        .atMost(PATIENCE)
        .untilAsserted(
            () ->
                assertThat(a.engine().registeredInstances())
                    .filteredOn(i -> i.instance().id().equals("o1"))
                    .extracting(RegisteredInstance::drained)
                    .containsExactly(true));
    assertThat(a.state().services().get("orders").instances())
        .extracting(i -> i.id())
        .containsExactly("o2");
  }

  @Test
  void leaseKeysOfTheEarlierDesignOnEtcdLeasesAreDetachedAndKeepTheirOrder() throws Exception {
    ByteSequence older =
        ByteSequence.from(
            EtcdRegistryStore.LEASES + "lease-00000000000000a1", StandardCharsets.UTF_8);
    ByteSequence newer =
        ByteSequence.from(
            EtcdRegistryStore.LEASES + "lease-00000000000000a2", StandardCharsets.UTF_8);
    java.time.Instant now = java.time.Instant.now();
    try (Client client = Client.builder().endpoints(etcd.endpoint()).build()) {
      // Long enough for the replica to start on a slow machine; revoked once it has, which deletes
      // every key still attached to it.
      long etcdLease = client.getLeaseClient().grant(60).get().getID();
      client
          .getKVClient()
          .put(
              older,
              ByteSequence.from(
                  StoredLeaseCodec.encode(
                      new StoredLease(
                          registration("orders", "o1", "/orders"),
                          "lease-00000000000000a1",
                          0,
                          Duration.ofSeconds(30),
                          now,
                          now.plusSeconds(30),
                          false,
                          false))),
              PutOption.builder().withLeaseId(etcdLease).build())
          .get();
      client
          .getKVClient()
          .put(
              newer,
              ByteSequence.from(
                  StoredLeaseCodec.encode(
                      new StoredLease(
                          registration("orders", "o2", "/orders/v2"),
                          "lease-00000000000000a2",
                          0,
                          Duration.ofSeconds(30),
                          now,
                          now.plusSeconds(30),
                          false,
                          false))),
              PutOption.builder().withLeaseId(etcdLease).build())
          .get();

      EtcdRegistryStore a = replica();
      client.getLeaseClient().revoke(etcdLease).get();

      assertThat(client.getKVClient().get(older).get().getKvs())
          .singleElement()
          .satisfies(kv -> assertThat(kv.getLease()).isZero());
      assertThat(a.leaseCounts()).isEqualTo(new RegistryStore.LeaseCounts(2, 0));
      // The newest registration still sets the routes, on this replica and on one that reads the
      // registry anew.
      assertThat(a.state().services().get("orders").routes())
          .extracting(r -> r.match().path().value())
          .containsExactly("/orders/v2");
      assertThat(replica().state().services()).isEqualTo(a.state().services());
    }
  }

  @Test
  void aKeepAliveThroughOneReplicaKeepsTheLeaseAliveOnEvery() throws Exception {
    EtcdRegistryStore a = replica();
    EtcdRegistryStore b = replica();
    Lease lease =
        a.register(registration("orders", "o1", "/orders"), Optional.of(Duration.ofSeconds(2)));
    await().atMost(PATIENCE).until(() -> b.state().services().containsKey("orders"));

    long end = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while (System.nanoTime() < end) {
      assertThat(b.renew(lease.id())).contains(new Lease(lease.id(), Duration.ofSeconds(2)));
      Thread.sleep(300);
      assertThat(a.expireLeases()).isZero();
    }

    assertThat(a.state().services()).containsOnlyKeys("orders");
    assertThat(a.engine().registeredInstances())
        .singleElement()
        .satisfies(
            instance ->
                assertThat(instance.leaseRemaining())
                    .isPositive()
                    .isLessThanOrEqualTo(Duration.ofSeconds(2)));
  }

  @Test
  void keepAlivesArrivingTogetherShareTransactionsAndEachIsAnswered() throws Exception {
    EtcdRegistryStore a = replica();
    List<Lease> leases = new ArrayList<>();
    for (int i = 0; i < 150; i++) {
      leases.add(
          a.register(registration("svc", "i-" + i, "/svc"), Optional.of(Duration.ofSeconds(30))));
    }
    Lease gone = leases.remove(0);
    assertThat(a.deregister(gone.id())).isTrue();
    ExecutorService pool = Executors.newFixedThreadPool(32);
    try {
      List<Future<Optional<Lease>>> answers = new ArrayList<>();
      for (int round = 0; round < 3; round++) {
        for (Lease lease : leases) {
          answers.add(pool.submit(() -> a.renew(lease.id())));
        }
      }
      Future<Optional<Lease>> unknown = pool.submit(() -> a.renew(gone.id()));
      for (Future<Optional<Lease>> answer : answers) {
        assertThat(answer.get()).isPresent();
      }
      assertThat(unknown.get()).isEmpty();
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void anExpiredLeaseIsNotRenewedButItsInstanceRegistersAgainUnderTheSameLeaseId() {
    EtcdRegistryStore a = replica();
    Lease lease =
        a.register(registration("orders", "o1", "/orders"), Optional.of(Duration.ofSeconds(1)));
    await().atMost(PATIENCE).until(() -> a.leaseCounts().expired() == 1);

    assertThat(a.renew(lease.id())).as("the client must register again").isEmpty();
    Lease again =
        a.register(registration("orders", "o1", "/orders"), Optional.of(Duration.ofSeconds(5)));

    assertThat(again.id()).isEqualTo(lease.id());
    assertThat(a.leaseCounts()).isEqualTo(new RegistryStore.LeaseCounts(1, 0));
    assertThat(a.expireLeases()).isZero();
  }

  @Test
  void whenMostLeasesExpireAtOnceEveryReplicasReaperHoldsThemBack() {
    EtcdRegistryStore a = replica();
    EtcdRegistryStore b = replica();
    for (int i = 0; i < 4; i++) {
      a.register(registration("orders", "o" + i, "/orders"), Optional.of(Duration.ofSeconds(1)));
    }
    Lease renewed =
        a.register(registration("users", "u1", "/users"), Optional.of(Duration.ofSeconds(1)));
    await().atMost(PATIENCE).until(() -> b.leaseCounts().live() == 5);
    LeaseReaper reaperA =
        new LeaseReaper(
            a, Duration.ofDays(1), SignalboxMetrics.noop(), MassExpiryProtection.DEFAULT);
    LeaseReaper reaperB =
        new LeaseReaper(
            b, Duration.ofDays(1), SignalboxMetrics.noop(), MassExpiryProtection.DEFAULT);
    try {
      await().atMost(PATIENCE).until(() -> a.leaseCounts().expired() == 5);

      reaperA.tick();
      reaperB.tick();

      assertThat(reaperA.paused()).isTrue();
      assertThat(reaperB.paused()).isTrue();
      assertThat(a.leaseCounts().live()).isEqualTo(5);
      assertThat(b.state().services()).containsOnlyKeys("orders", "users");

      // The users instance comes back (registers again, keeping its lease); 4 of 5 is still too
      // many.
      a.register(registration("users", "u1", "/users"), Optional.of(Duration.ofSeconds(30)));
      await().atMost(PATIENCE).until(() -> b.leaseCounts().expired() == 4);
      reaperB.tick();
      assertThat(reaperB.paused()).isTrue();
      // An operator evicts two orders instances: 2 of 3 expired is within the floor, so expiry
      // resumes.
      b.evict("orders", Optional.of("o0"), "spiffe://signalbox.local/operator/test");
      b.evict("orders", Optional.of("o1"), "spiffe://signalbox.local/operator/test");
      await()
          .atMost(PATIENCE)
          .until(() -> a.leaseCounts().equals(new RegistryStore.LeaseCounts(3, 2)));
      reaperA.tick();

      assertThat(reaperA.paused()).isFalse();
      await()
          .atMost(PATIENCE)
          .until(() -> b.state().services().keySet().equals(java.util.Set.of("users")));
      assertThat(b.engine().registeredInstances())
          .extracting(RegisteredInstance::leaseId)
          .containsExactly(renewed.id());
    } finally {
      reaperA.close();
      reaperB.close();
    }
  }

  @Test
  void afterTheWholeTierWasDownLongerThanATtlEveryLeaseLivesAnotherTtlFromTheColdStart()
      throws Exception {
    EtcdRegistryStore a = replica();
    Lease lease =
        a.register(registration("orders", "o1", "/orders"), Optional.of(Duration.ofSeconds(2)));
    stop(a);
    Thread.sleep(2_500);

    EtcdRegistryStore b = replica();

    assertThat(b.leaseCounts())
        .as("alive for the grace period")
        .isEqualTo(new RegistryStore.LeaseCounts(1, 0));
    assertThat(b.expireLeases()).isZero();
    assertThat(b.renew(lease.id())).as("so its SDK can renew it").isPresent();
    // Without further renewals it expires as usual.
    await().atMost(PATIENCE).until(() -> b.leaseCounts().expired() == 1);
  }

  @Test
  void aReplicaStartingWhileAnotherRunsGivesNoGrace() {
    EtcdRegistryStore a = replica();
    a.register(registration("orders", "o1", "/orders"), Optional.of(Duration.ofSeconds(1)));
    await().atMost(PATIENCE).until(() -> a.leaseCounts().expired() == 1);

    EtcdRegistryStore b = replica();

    assertThat(b.leaseCounts())
        .as("the running replica's SDKs could renew")
        .isEqualTo(new RegistryStore.LeaseCounts(1, 1));
  }

  @Test
  void aMarkLeftByThisReplicaBeforeACrashIsNotAnotherReplica() throws Exception {
    EtcdRegistryStore a = replica("host-a:7000");
    Lease lease =
        a.register(registration("orders", "o1", "/orders"), Optional.of(Duration.ofSeconds(1)));
    stop(a);
    markPresentForAMinute("host-a:7000");
    Thread.sleep(1_500);

    EtcdRegistryStore restarted = replica("host-a:7000");

    assertThat(restarted.leaseCounts().expired()).isZero();
    assertThat(restarted.renew(lease.id())).isPresent();
  }

  @Test
  void aMarkOfAnotherReplicaMeansNoColdStart() throws Exception {
    EtcdRegistryStore a = replica("host-a:7000");
    a.register(registration("orders", "o1", "/orders"), Optional.of(Duration.ofSeconds(1)));
    stop(a);
    markPresentForAMinute("host-b:7000");
    Thread.sleep(1_500);

    EtcdRegistryStore restarted = replica("host-a:7000");

    assertThat(restarted.leaseCounts().expired()).isEqualTo(1);
  }

  /** As a replica that was killed leaves its mark until its etcd lease runs out. */
  private void markPresentForAMinute(String name) throws Exception {
    try (Client client = Client.builder().endpoints(etcd.endpoint()).build()) {
      long lease = client.getLeaseClient().grant(60).get().getID();
      client
          .getKVClient()
          .put(
              ByteSequence.from(EtcdRegistryStore.REPLICAS + name, StandardCharsets.UTF_8),
              ByteSequence.from(name, StandardCharsets.UTF_8),
              PutOption.builder().withLeaseId(lease).build())
          .get();
    }
  }

  @Test
  void twoReplicasRegisteringTheSameRouteAtOnceLetExactlyOneServiceOwnIt() throws Exception {
    EtcdRegistryStore a = replica();
    EtcdRegistryStore b = replica();
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      for (int round = 0; round < 10; round++) {
        String path = "/shared-" + round;
        CountDownLatch start = new CountDownLatch(1);
        Callable<Boolean> viaA = attempt(start, a, registration("alpha-" + round, "a1", path));
        Callable<Boolean> viaB = attempt(start, b, registration("beta-" + round, "b1", path));
        Future<Boolean> first = pool.submit(viaA);
        Future<Boolean> second = pool.submit(viaB);
        start.countDown();

        assertThat(List.of(first.get(), second.get())).containsExactlyInAnyOrder(true, false);
      }
      await().atMost(PATIENCE).until(() -> a.appliedRevision() == b.appliedRevision());
      assertThat(a.state().services()).hasSize(10).isEqualTo(b.state().services());
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void manyConcurrentRegistrationsThroughOneReplicaAllSucceed() throws Exception {
    EtcdRegistryStore a = replica();
    EtcdRegistryStore b = replica();
    ExecutorService pool = Executors.newFixedThreadPool(16);
    try {
      List<Future<Lease>> leases = new ArrayList<>();
      for (int i = 0; i < 400; i++) {
        Registration registration = registration("svc-" + (i % 20), "i-" + i, "/svc-" + (i % 20));
        leases.add(pool.submit(() -> a.register(registration, Optional.empty())));
      }
      for (Future<Lease> lease : leases) {
        assertThat(lease.get()).isNotNull();
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(a.leaseCounts().live()).isEqualTo(400);
    await().atMost(PATIENCE).until(() -> b.leaseCounts().live() == 400);
    assertThat(b.state().services()).isEqualTo(a.state().services());
  }

  private static Callable<Boolean> attempt(
      CountDownLatch start, EtcdRegistryStore store, Registration registration) {
    return () -> {
      start.await();
      try {
        store.register(registration, Optional.empty());
        return true;
      } catch (RouteConflictException e) {
        return false;
      }
    };
  }

  @Test
  void
      withoutEtcdRegistrationsFailAsUnavailableWhileTheRegistryStaysServedAndResumeWhenItReturns() {
    EtcdRegistryStore a = replica();
    EtcdRegistryStore b = replica();
    a.register(registration("orders", "o1", "/orders"), Optional.of(Duration.ofSeconds(60)));
    await().atMost(PATIENCE).until(() -> b.state().services().containsKey("orders"));

    etcd.stop();

    assertThatThrownBy(() -> a.register(registration("users", "u1", "/users"), Optional.empty()))
        .isInstanceOf(StoreUnavailableException.class);
    assertThat(a.state().services()).containsOnlyKeys("orders");
    assertThat(b.state().services()).containsOnlyKeys("orders");

    etcd.start();

    await()
        .atMost(Duration.ofSeconds(15))
        .ignoreExceptionsInstanceOf(StoreUnavailableException.class)
        .until(() -> a.register(registration("users", "u1", "/users"), Optional.empty()) != null);
    await().atMost(PATIENCE).until(() -> b.state().services().containsKey("users"));
    assertThat(b.state().services())
        .isEqualTo(a.state().services())
        .containsOnlyKeys("orders", "users");
  }
}
