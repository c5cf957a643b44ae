package io.signalbox.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RouteSpec;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** The queue of registrations and its writer thread, without etcd: nobody is left waiting. */
class EtcdRegistrationBatchesTest {

  private static final Duration TTL = Duration.ofSeconds(10);

  private static Registration registration(String instanceId) {
    return new Registration(
        "orders",
        Instance.of(instanceId, "10.0.0.1", 8080),
        List.of(RouteSpec.builder(PathMatch.prefix("/orders")).build()));
  }

  @Test
  void registrationsArrivingWhileOneBatchIsWrittenAreOfferedTogetherToTheNextInArrivalOrder()
      throws Exception {
    CountDownLatch firstBatchStarted = new CountDownLatch(1);
    CountDownLatch releaseFirstBatch = new CountDownLatch(1);
    List<List<String>> offered = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (EtcdRegistrationBatches batches =
        new EtcdRegistrationBatches(
            waiting -> {
              offered.add(waiting.stream().map(p -> p.registration.instance().id()).toList());
              firstBatchStarted.countDown();
              try {
                releaseFirstBatch.await();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
              waiting.forEach(
                  p ->
                      p.answer.complete(
                          new Lease("lease-" + p.registration.instance().id(), p.ttl)));
            })) {
      CompletableFuture<Lease> first = batches.register(registration("o1"), TTL);
      firstBatchStarted.await(5, TimeUnit.SECONDS);
      CompletableFuture<Lease> second = batches.register(registration("o2"), TTL);
      CompletableFuture<Lease> third = batches.register(registration("o3"), TTL);
      releaseFirstBatch.countDown();

      assertThat(
              List.of(
                  first.get(5, TimeUnit.SECONDS).id(),
                  second.get(5, TimeUnit.SECONDS).id(),
                  third.get(5, TimeUnit.SECONDS).id()))
          .containsExactly("lease-o1", "lease-o2", "lease-o3");
      assertThat(offered).containsExactly(List.of("o1"), List.of("o2", "o3"));
    }
  }

  @Test
  void anErrorInTheWriterFailsItsRegistrationsAndTheNextOnesAreStillWritten() throws Exception {
    AtomicBoolean fail = new AtomicBoolean(true);
    try (EtcdRegistrationBatches batches =
        new EtcdRegistrationBatches(
            waiting -> {
              if (fail.getAndSet(false)) {
                throw new AssertionError("writer broke");
              }
              waiting.forEach(p -> p.answer.complete(new Lease("lease", p.ttl)));
            })) {
      CompletableFuture<Lease> broken = batches.register(registration("o1"), TTL);
      assertThatThrownBy(() -> broken.get(5, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .hasCauseInstanceOf(AssertionError.class);

      assertThat(batches.register(registration("o2"), TTL).get(5, TimeUnit.SECONDS).id())
          .isEqualTo("lease");
    }
  }

  @Test
  void closingFailsTheRegistrationsStillWaitingAndLaterOnes() throws Exception {
    CountDownLatch writing = new CountDownLatch(1);
    EtcdRegistrationBatches batches =
        new EtcdRegistrationBatches(
            waiting -> {
              writing.countDown();
              try {
                Thread.sleep(60_000);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
    CompletableFuture<Lease> inFlight = batches.register(registration("o1"), TTL);
    writing.await(5, TimeUnit.SECONDS);
    CompletableFuture<Lease> queued = batches.register(registration("o2"), TTL);

    batches.close();

    for (CompletableFuture<Lease> answer :
        List.of(inFlight, queued, batches.register(registration("o3"), TTL))) {
      assertThatThrownBy(() -> answer.get(5, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .hasCauseInstanceOf(StoreUnavailableException.class);
    }
  }
}
