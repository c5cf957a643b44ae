package io.signalbox.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RegistryState;
import io.signalbox.model.RouteSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Registrations that arrive while the journal commits are made together and committed with one
 * journal commit (group commit). Each is still refused or accepted on its own merits, in order;
 * when the commit fails, every registration of the group fails and the registry is exactly as
 * before.
 */
class GroupCommitTest {

  /** A journal whose commits can be held (to let registrations queue) and made to fail. */
  private static final class GatedDisk implements RegistryJournal {
    final Map<String, StoredLease> committed = new LinkedHashMap<>();
    final List<Runnable> pending = new ArrayList<>();
    final AtomicInteger syncs = new AtomicInteger();
    volatile CountDownLatch gate = new CountDownLatch(0);
    volatile CountDownLatch syncing = new CountDownLatch(1);

    /** The commit, counted from 1, from which on every commit fails. */
    volatile int failFrom = Integer.MAX_VALUE;

    @Override
    public List<StoredLease> load() {
      return List.copyOf(committed.values());
    }

    @Override
    public synchronized void put(StoredLease lease) {
      pending.add(() -> committed.put(lease.leaseId(), lease));
    }

    @Override
    public synchronized void remove(String leaseId) {
      pending.add(() -> committed.remove(leaseId));
    }

    @Override
    public void sync() {
      syncing.countDown();
      try {
        gate.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      synchronized (this) {
        if (syncs.incrementAndGet() >= failFrom) {
          pending.clear();
          throw new IllegalStateException("No space left on device");
        }
        pending.forEach(Runnable::run);
        pending.clear();
      }
    }

    @Override
    public void rewrite(List<StoredLease> live) {}

    @Override
    public void close() {}
  }

  private final GatedDisk disk = new GatedDisk();
  private final InMemoryRegistryStore store =
      InMemoryRegistryStore.restore(LeasePolicy.DEFAULT, System::nanoTime, disk, Optional.empty());

  @AfterEach
  void stop() {
    disk.gate.countDown();
  }

  private static Registration registration(String service, String instance, String prefix) {
    return new Registration(
        service,
        Instance.of(instance, "10.0.0.1", 8080),
        List.of(RouteSpec.builder(PathMatch.prefix(prefix)).build()));
  }

  private final List<Thread> callers = new ArrayList<>();

  private CompletableFuture<Lease> registerAsync(Registration registration) {
    CompletableFuture<Lease> lease = new CompletableFuture<>();
    Thread caller =
        new Thread(
            () -> {
              try {
                lease.complete(store.register(registration, Optional.of(Duration.ofSeconds(30))));
              } catch (RuntimeException e) {
                lease.completeExceptionally(e);
              }
            });
    callers.add(caller);
    caller.start();
    return lease;
  }

  /**
   * One registration holds the lock in a commit the test keeps open, and {@code queued} wait for
   * the lock behind it (their callers parked); returns every future, the first one's first.
   */
  private List<CompletableFuture<Lease>> queueBehindAHeldCommit(List<Registration> queued)
      throws Exception {
    disk.gate = new CountDownLatch(1);
    disk.syncing = new CountDownLatch(1);
    List<CompletableFuture<Lease>> futures = new ArrayList<>();
    futures.add(registerAsync(registration("first", "first-1", "/first")));
    assertThat(disk.syncing.await(5, TimeUnit.SECONDS)).isTrue();
    // One at a time, each queued (its caller parked, waiting for a leader) before the next: queue
    // order.
    for (Registration registration : queued) {
      futures.add(registerAsync(registration));
      Thread caller = callers.get(callers.size() - 1);
      await()
          .atMost(Duration.ofSeconds(5))
          .pollInterval(Duration.ofMillis(1))
          .until(() -> caller.getState() == Thread.State.WAITING);
    }
    return futures;
  }

  @Test
  void registrationsQueuedBehindACommitShareTheNextOne() throws Exception {
    List<Registration> queued = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      queued.add(registration("svc-" + i, "svc-" + i + "-1", "/svc-" + i));
    }
    List<CompletableFuture<Lease>> futures = queueBehindAHeldCommit(queued);
    disk.gate.countDown();

    for (CompletableFuture<Lease> future : futures) {
      assertThat(future.get(5, TimeUnit.SECONDS).id()).isNotEmpty();
    }
    assertThat(disk.syncs).as("one commit for the first, one for the eight behind it").hasValue(2);
    assertThat(store.state().services()).hasSize(9);
    assertThat(disk.committed).hasSize(9);
  }

  @Test
  void eachRegistrationOfAGroupIsRefusedOrAcceptedOnItsOwnMeritsInOrder() throws Exception {
    List<CompletableFuture<Lease>> futures =
        queueBehindAHeldCommit(
            List.of(
                registration("orders", "orders-1", "/orders"),
                registration("thief", "thief-1", "/orders"),
                registration("users", "users-1", "/users")));
    disk.gate.countDown();

    assertThat(futures.get(1).get(5, TimeUnit.SECONDS).id()).isNotEmpty();
    assertThat(futures.get(2))
        .failsWithin(Duration.ofSeconds(5))
        .withThrowableOfType(java.util.concurrent.ExecutionException.class)
        .withCauseInstanceOf(RouteConflictException.class);
    assertThat(futures.get(3).get(5, TimeUnit.SECONDS).id()).isNotEmpty();
    assertThat(store.state().services()).containsOnlyKeys("first", "orders", "users");
  }

  @Test
  void aFailedCommitFailsTheWholeGroupAndLeavesTheRegistryAsItWas() throws Exception {
    Lease kept =
        store.register(
            registration("orders", "orders-1", "/orders"), Optional.of(Duration.ofSeconds(30)));
    AtomicInteger changes = new AtomicInteger();
    store.addChangeListener(changes::incrementAndGet);
    // Commit 1 was the registration above, 2 is the one held open; the group's, 3, fails.
    disk.failFrom = 3;
    List<CompletableFuture<Lease>> futures =
        queueBehindAHeldCommit(
            List.of(
                registration("orders", "orders-2", "/orders"),
                registration("users", "users-1", "/users"),
                // Replaces the live lease's registration: undone, the old one is live again.
                registration("orders", "orders-1", "/orders-v2")));
    disk.gate.countDown();

    assertThat(futures.get(0).get(5, TimeUnit.SECONDS).id()).isNotEmpty();
    assertThat(futures.subList(1, 4))
        .allSatisfy(
            future ->
                assertThat(future)
                    .failsWithin(Duration.ofSeconds(5))
                    .withThrowableOfType(java.util.concurrent.ExecutionException.class)
                    .withCauseInstanceOf(StoreUnavailableException.class));
    RegistryState state = store.state();
    assertThat(state.services()).containsOnlyKeys("first", "orders");
    assertThat(state.services().get("orders").routes())
        .containsExactly(RouteSpec.builder(PathMatch.prefix("/orders")).build());
    assertThat(state.services().get("orders").instances())
        .extracting(Instance::id)
        .containsExactly("orders-1");
    assertThat(store.registeredInstances())
        .filteredOn(instance -> instance.service().equals("orders"))
        .singleElement()
        .satisfies(instance -> assertThat(instance.leaseId()).isEqualTo(kept.id()));
    assertThat(state.changedBy()).containsOnlyKeys("first", "orders");
    assertThat(changes).as("only the first registration was announced").hasValue(1);
    assertThat(disk.committed).hasSize(2).containsKey(kept.id());
    assertThat(store.journalHealthy()).isFalse();
  }

  @org.junit.jupiter.api.Nested
  class UnderManyCallers {

    @Test
    void everyItemIsCommittedOnceInItsCallersOrderAndNoCallerReturnsBeforeIts() throws Exception {
      java.util.Set<Integer> committed = java.util.concurrent.ConcurrentHashMap.newKeySet();
      List<List<Integer>> groups = java.util.Collections.synchronizedList(new ArrayList<>());
      AtomicInteger leaders = new AtomicInteger();
      GroupCommit<Integer> commits =
          new GroupCommit<>(
              group -> {
                assertThat(leaders.incrementAndGet()).as("one leader at a time").isEqualTo(1);
                groups.add(group);
                group.forEach(item -> assertThat(committed.add(item)).isTrue());
                leaders.decrementAndGet();
              });
      int callers = 16;
      int perCaller = 2_000;
      java.util.concurrent.ExecutorService threads =
          java.util.concurrent.Executors.newFixedThreadPool(callers);
      List<CompletableFuture<Void>> running = new ArrayList<>();
      for (int c = 0; c < callers; c++) {
        int caller = c;
        running.add(
            CompletableFuture.runAsync(
                () -> {
                  for (int i = 0; i < perCaller; i++) {
                    int item = caller * perCaller + i;
                    commits.submit(item);
                    assertThat(committed).contains(item);
                  }
                },
                threads));
      }
      CompletableFuture.allOf(running.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
      threads.shutdown();

      assertThat(committed).hasSize(callers * perCaller);
      // Each caller's items in the order it submitted them.
      List<Integer> inCommitOrder = groups.stream().flatMap(List::stream).toList();
      for (int c = 0; c < callers; c++) {
        int caller = c;
        assertThat(inCommitOrder.stream().filter(item -> item / perCaller == caller).toList())
            .isSorted();
      }
      assertThat(groups.size()).as("some groups held several").isLessThan(callers * perCaller);
    }

    @Test
    void whatACommitThrowsReachesEveryCallerOfItsGroupAndNoOther() throws Exception {
      CountDownLatch holding = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      GroupCommit<String> commits =
          new GroupCommit<>(
              group -> {
                if (group.contains("first")) {
                  holding.countDown();
                  awaitQuietly(release);
                } else if (group.contains("doomed-1")) {
                  throw new IllegalStateException("disk full");
                }
              });
      Map<String, CompletableFuture<Void>> outcomes = new LinkedHashMap<>();
      List<Thread> threads = new ArrayList<>();
      for (String item : List.of("first", "doomed-1", "doomed-2")) {
        CompletableFuture<Void> outcome = new CompletableFuture<>();
        Thread thread =
            new Thread(
                () -> {
                  try {
                    commits.submit(item);
                    outcome.complete(null);
                  } catch (RuntimeException e) {
                    outcome.completeExceptionally(e);
                  }
                });
        thread.start();
        outcomes.put(item, outcome);
        threads.add(thread);
        if (item.equals("first")) {
          assertThat(holding.await(5, TimeUnit.SECONDS)).isTrue();
        } else {
          // Queued behind the held commit: its caller parked.
          await()
              .atMost(Duration.ofSeconds(5))
              .until(() -> thread.getState() == Thread.State.WAITING);
        }
      }
      release.countDown();

      assertThat(outcomes.get("first")).succeedsWithin(Duration.ofSeconds(5));
      for (String doomed : List.of("doomed-1", "doomed-2")) {
        assertThat(outcomes.get(doomed))
            .failsWithin(Duration.ofSeconds(5))
            .withThrowableOfType(java.util.concurrent.ExecutionException.class)
            .withCauseInstanceOf(IllegalStateException.class);
      }
      org.assertj.core.api.Assertions.assertThatCode(() -> commits.submit("later"))
          .as("the next group commits")
          .doesNotThrowAnyException();
    }

    private static void awaitQuietly(CountDownLatch latch) {
      try {
        latch.await(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
