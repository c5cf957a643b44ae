package io.signalbox.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.signalbox.testing.TestClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class FixedWindowCountersTest {

  private static final Duration MINUTE = Duration.ofMinutes(1);

  private static final CounterKey K = key("k");

  /** 12:00:30 on some day: half a minute into a window. */
  private final TestClock now =
      new TestClock(Duration.ofDays(20_000).plusHours(12).plusSeconds(30));

  private final FixedWindowCounters counters = new FixedWindowCounters(now, () -> windows(1_000));

  @Test
  void countsHitsWithinOneWindowAndReportsItsEnd() {
    long windowEnd = now.millis() + Duration.ofSeconds(30).toMillis();

    assertThat(counters.add(K, MINUTE, 1)).contains(new FixedWindowCounters.Count(1, windowEnd));
    assertThat(counters.add(K, MINUTE, 1)).contains(new FixedWindowCounters.Count(2, windowEnd));
  }

  @Test
  void windowsAreAlignedToTheUnitSoANewMinuteStartsAfresh() {
    counters.add(K, MINUTE, 5);
    now.advance(Duration.ofSeconds(29).plusMillis(999));
    assertThat(counters.add(K, MINUTE, 1).orElseThrow().hits())
        .as("12:00:59.999, same window")
        .isEqualTo(6);

    now.advance(Duration.ofMillis(1));
    FixedWindowCounters.Count next = counters.add(K, MINUTE, 1).orElseThrow();
    assertThat(next.hits()).as("12:01:00.000, next window").isEqualTo(1);
    assertThat(next.windowEndMillis()).isEqualTo(now.millis() + MINUTE.toMillis());
  }

  @Test
  void keysAreCountedApart() {
    counters.add(key("route-a"), MINUTE, 3);
    counters.add(key("route-b"), MINUTE, 1);

    assertThat(counters.add(key("route-a"), MINUTE, 0).orElseThrow().hits()).isEqualTo(3);
    assertThat(counters.add(key("route-b"), MINUTE, 0).orElseThrow().hits()).isEqualTo(1);
  }

  @Test
  void zeroHitsOnlyReads() {
    counters.add(K, MINUTE, 2);

    assertThat(counters.add(K, MINUTE, 0).orElseThrow().hits()).isEqualTo(2);
    assertThat(counters.add(K, MINUTE, 0).orElseThrow().hits()).isEqualTo(2);
  }

  @Test
  void concurrentHitsAreAllCounted() throws Exception {
    int threads = 8;
    int hitsPerThread = 20_000;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    CountDownLatch start = new CountDownLatch(1);
    List<Future<Long>> highest = new ArrayList<>();
    try {
      for (int t = 0; t < threads; t++) {
        highest.add(
            pool.submit(
                () -> {
                  start.await();
                  long max = 0;
                  for (int i = 0; i < hitsPerThread; i++) {
                    max =
                        Math.max(max, counters.add(key("shared"), MINUTE, 1).orElseThrow().hits());
                  }
                  return max;
                }));
      }
      start.countDown();
      long seen = 0;
      for (Future<Long> future : highest) {
        seen = Math.max(seen, future.get(30, TimeUnit.SECONDS));
      }
      assertThat(seen).isEqualTo((long) threads * hitsPerThread);
      assertThat(counters.add(key("shared"), MINUTE, 0).orElseThrow().hits())
          .isEqualTo((long) threads * hitsPerThread);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void hitsRacingWithTheSweepOfTheirWindowAreNeitherLostNorCountedTwice() throws Exception {
    // 10 ms windows on a clock that moves 7 ms per hit, swept on every call: windows end and are
    // swept while
    // other threads count in them. A hit that landed in a window already swept would count in a
    // window nobody
    // sees, and two hits of one window would then both be told "1st" (or the same later number).
    TestClock clock = new TestClock(Duration.ZERO);
    FixedWindowCounters racing = new FixedWindowCounters(clock, () -> windows(1_000), 0);
    int threads = 4;
    int hitsPerThread = 50_000;
    java.util.Set<FixedWindowCounters.Count> answers =
        java.util.concurrent.ConcurrentHashMap.newKeySet();
    AtomicLong duplicates = new AtomicLong();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        done.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < hitsPerThread; i++) {
                    clock.advance(Duration.ofMillis(7));
                    if (!answers.add(racing.add(K, Duration.ofMillis(10), 1).orElseThrow())) {
                      duplicates.incrementAndGet();
                    }
                  }
                }));
      }
      for (Future<?> future : done) {
        future.get(60, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(duplicates.get()).isZero();
    assertThat(answers).hasSize(threads * hitsPerThread);
  }

  @Test
  void endedWindowsAreDroppedSoMemoryStaysBounded() {
    for (int i = 0; i < 500; i++) {
      counters.add(key("client-" + i), Duration.ofSeconds(1), 1);
    }
    assertThat(counters.size()).isEqualTo(500);

    now.advance(Duration.ofSeconds(2));
    counters.add(key("later"), Duration.ofSeconds(1), 1);

    assertThat(counters.size()).isEqualTo(1);
  }

  @Test
  void aFullTableLeavesNewKeysUncountedRatherThanEvictingLiveOnes() {
    FixedWindowCounters small = new FixedWindowCounters(now, () -> windows(2));
    small.add(key("a"), MINUTE, 1);
    small.add(key("b"), MINUTE, 1);

    assertThat(small.add(key("c"), MINUTE, 1)).isEqualTo(Optional.empty());
    assertThat(small.add(key("a"), MINUTE, 1).orElseThrow().hits())
        .as("live keys keep counting")
        .isEqualTo(2);

    now.advance(MINUTE);
    assertThat(small.add(key("c"), MINUTE, 1)).as("room again once windows end").isPresent();
  }

  @Test
  void theBudgetIsInBytesAtAFixedCostPerWindowAndAChangedBudgetAppliesToTheNextNewKey() {
    AtomicLong budget = new AtomicLong(windows(3) + FixedWindowCounters.BYTES_PER_WINDOW - 1);
    FixedWindowCounters counted = new FixedWindowCounters(now, budget::get);
    for (String name : List.of("a", "b", "c")) {
      assertThat(counted.add(key(name), MINUTE, 1)).as(name).isPresent();
    }
    assertThat(counted.add(key("d"), MINUTE, 1))
        .as("a part of a window's bytes is no room")
        .isEmpty();

    budget.set(windows(4));
    assertThat(counted.add(key("d"), MINUTE, 1)).isPresent();
    budget.set(windows(1));
    assertThat(counted.add(key("e"), MINUTE, 1)).isEmpty();
    assertThat(counted.add(key("a"), MINUTE, 1).orElseThrow().hits())
        .as("a lowered budget drops no live window")
        .isEqualTo(2);
  }

  @Test
  void aCountSaturatesInsteadOfWrappingNegative() {
    counters.add(K, MINUTE, Long.MAX_VALUE - 1);

    assertThat(counters.add(K, MINUTE, 5).orElseThrow().hits()).isEqualTo(Long.MAX_VALUE);
    assertThat(counters.add(K, MINUTE, Long.MAX_VALUE).orElseThrow().hits())
        .isEqualTo(Long.MAX_VALUE);
    assertThatThrownBy(() -> counters.add(K, MINUTE, -1))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private static long windows(int count) {
    return count * FixedWindowCounters.BYTES_PER_WINDOW;
  }

  private static CounterKey key(String name) {
    return CounterKey.of(
        RateLimitDescriptor.newBuilder()
            .addEntries(RateLimitDescriptor.Entry.newBuilder().setKey("k").setValue(name))
            .build());
  }
}
