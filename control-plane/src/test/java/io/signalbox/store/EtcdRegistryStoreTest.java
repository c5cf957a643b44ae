package io.signalbox.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
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

/** Two replicas' stores on one real etcd. */
class EtcdRegistryStoreTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(2);

  private EtcdProcess etcd;
  private final List<EtcdRegistryStore> stores = new ArrayList<>();

  @BeforeEach
  void startEtcd() {
    etcd = EtcdProcess.launch();
  }

  @AfterEach
  void stopAll() {
    stores.forEach(EtcdRegistryStore::close);
    etcd.close();
  }

  private EtcdRegistryStore replica() {
    EtcdRegistryStore store = EtcdRegistryStore.connect(List.of(etcd.endpoint()), LeasePolicy.DEFAULT, TIMEOUT);
    stores.add(store);
    return store;
  }

  private static Registration registration(String service, String instanceId, String prefix) {
    return new Registration(service, Instance.of(instanceId, "10.0.0.1", 8080),
        List.of(RouteSpec.builder(PathMatch.prefix(prefix)).build()));
  }

  @Test
  void aRegistrationThroughOneReplicaIsInTheOthersStateWhenAcknowledged() {
    EtcdRegistryStore a = replica();
    EtcdRegistryStore b = replica();

    Lease lease = a.register(registration("orders", "o1", "/orders"), Optional.empty());

    await().atMost(Duration.ofSeconds(1)).until(() -> b.state().services().containsKey("orders"));
    assertThat(b.state().services()).isEqualTo(a.state().services());
    assertThat(b.engine().registeredInstances()).extracting(RegisteredInstance::leaseId)
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
    assertThat(late.state().services().get("orders").routes()).extracting(r -> r.match().path().value())
        .containsExactly("/orders/v2");
  }

  @Test
  void keepAliveAndDeregistrationWorkThroughAnyReplica() {
    EtcdRegistryStore a = replica();
    EtcdRegistryStore b = replica();
    Lease lease = a.register(registration("orders", "o1", "/orders"), Optional.of(Duration.ofSeconds(5)));
    await().atMost(Duration.ofSeconds(1)).until(() -> b.state().services().containsKey("orders"));

    assertThat(b.renew(lease.id())).contains(new Lease(lease.id(), Duration.ofSeconds(5)));
    assertThat(b.deregister(lease.id())).isTrue();

    assertThat(b.state().services()).isEmpty();
    await().atMost(Duration.ofSeconds(1)).until(() -> a.state().services().isEmpty());
    assertThat(a.renew(lease.id())).isEmpty();
    assertThat(a.deregister(lease.id())).isFalse();
  }

  @Test
  void aDrainMadeThroughOneReplicaHoldsOnEveryReplicaAndOutlivesARegistrationOfTheSameInstance() {
    EtcdRegistryStore a = replica();
    EtcdRegistryStore b = replica();
    a.register(registration("orders", "o1", "/orders"), Optional.empty());
    a.register(registration("orders", "o2", "/orders/v2"), Optional.empty());
    await().atMost(Duration.ofSeconds(1)).until(() -> b.state().services().containsKey("orders"));

    assertThat(b.setDrained("orders", "o1", true).drained()).isTrue();
    await().atMost(Duration.ofSeconds(1)).until(() -> a.state().services().get("orders").instances().size() == 1);
    // The drain keeps o1's registration order: o2, registered later, still sets the routes.
    assertThat(a.state().services()).isEqualTo(b.state().services());
    assertThat(a.state().services().get("orders").routes()).extracting(r -> r.match().path().value())
        .containsExactly("/orders/v2");

    a.register(registration("orders", "o1", "/orders/v3"), Optional.empty());
    await().atMost(Duration.ofSeconds(1)).until(() -> b.state().services().get("orders").routes().get(0)
        .match().path().value().equals("/orders/v3"));
    assertThat(b.engine().registeredInstances()).filteredOn(i -> i.instance().id().equals("o1"))
        .extracting(RegisteredInstance::drained).containsExactly(true);

    assertThat(a.evict("orders", Optional.empty())).containsExactly("o1", "o2");
    await().atMost(Duration.ofSeconds(1)).until(() -> b.state().services().isEmpty());
    assertThatThrownBy(() -> b.setDrained("orders", "o1", false)).isInstanceOf(NotRegisteredException.class);
  }

  @Test
  void aReplicaWhoseWatchEndedForGoodReadsTheWholeRegistryAgain() {
    EtcdRegistryStore a = replica();
    EtcdRegistryStore b = replica();
    Lease orders = a.register(registration("orders", "o1", "/orders"), Optional.empty());
    await().atMost(Duration.ofSeconds(1)).until(() -> b.state().services().containsKey("orders"));

    b.endWatchForTest();
    a.register(registration("users", "u1", "/users"), Optional.empty());
    a.deregister(orders.id());
    assertThat(b.state().services()).as("nothing moves without the watch").containsOnlyKeys("orders");
    b.reportWatchErrorForTest();

    await().atMost(Duration.ofSeconds(2))
        .until(() -> b.state().services().keySet().equals(java.util.Set.of("users")));
    assertThat(b.state().services()).isEqualTo(a.state().services());
    // And it follows the registry again.
    a.register(registration("carts", "c1", "/carts"), Optional.empty());
    await().atMost(Duration.ofSeconds(1)).until(() -> b.state().services().containsKey("carts"));
  }

  @Test
  void etcdExpiresALeaseThatNobodyRenewsOnEveryReplica() {
    EtcdRegistryStore a = replica();
    EtcdRegistryStore b = replica();
    a.register(registration("orders", "o1", "/orders"), Optional.of(Duration.ofSeconds(2)));
    await().atMost(Duration.ofSeconds(1)).until(() -> b.state().services().containsKey("orders"));

    await().atMost(Duration.ofSeconds(10)).until(() -> a.state().services().isEmpty()
        && b.state().services().isEmpty());
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
      await().atMost(Duration.ofSeconds(1)).until(() -> a.appliedRevision() == b.appliedRevision());
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
    await().atMost(Duration.ofSeconds(2)).until(() -> b.leaseCounts().live() == 400);
    assertThat(b.state().services()).isEqualTo(a.state().services());
  }

  private static Callable<Boolean> attempt(CountDownLatch start, EtcdRegistryStore store, Registration registration) {
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
  void withoutEtcdRegistrationsFailAsUnavailableWhileTheRegistryStaysServedAndResumeWhenItReturns() {
    EtcdRegistryStore a = replica();
    EtcdRegistryStore b = replica();
    a.register(registration("orders", "o1", "/orders"), Optional.of(Duration.ofSeconds(60)));
    await().atMost(Duration.ofSeconds(1)).until(() -> b.state().services().containsKey("orders"));

    etcd.stop();

    assertThatThrownBy(() -> a.register(registration("users", "u1", "/users"), Optional.empty()))
        .isInstanceOf(StoreUnavailableException.class);
    assertThat(a.state().services()).containsOnlyKeys("orders");
    assertThat(b.state().services()).containsOnlyKeys("orders");

    etcd.start();

    await().atMost(Duration.ofSeconds(15)).ignoreExceptionsInstanceOf(StoreUnavailableException.class)
        .until(() -> a.register(registration("users", "u1", "/users"), Optional.empty()) != null);
    await().atMost(Duration.ofSeconds(5)).until(() -> b.state().services().containsKey("users"));
    assertThat(b.state().services()).isEqualTo(a.state().services()).containsOnlyKeys("orders", "users");
  }
}
