package io.signalbox.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

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

  /** 12:00:30 on some day: half a minute into a window. */
  private final AtomicLong now = new AtomicLong(Duration.ofDays(20_000).plusHours(12).plusSeconds(30).toMillis());
  private final FixedWindowCounters counters = new FixedWindowCounters(now::get, 1_000);

  @Test
  void countsHitsWithinOneWindowAndReportsItsEnd() {
    long windowEnd = now.get() + Duration.ofSeconds(30).toMillis();

    assertThat(counters.add("k", MINUTE, 1)).contains(new FixedWindowCounters.Count(1, windowEnd));
    assertThat(counters.add("k", MINUTE, 1)).contains(new FixedWindowCounters.Count(2, windowEnd));
  }

  @Test
  void windowsAreAlignedToTheUnitSoANewMinuteStartsAfresh() {
    counters.add("k", MINUTE, 5);
    now.addAndGet(Duration.ofSeconds(29).toMillis() + 999);
    assertThat(counters.add("k", MINUTE, 1).orElseThrow().hits()).as("12:00:59.999, same window").isEqualTo(6);

    now.addAndGet(1);
    FixedWindowCounters.Count next = counters.add("k", MINUTE, 1).orElseThrow();
    assertThat(next.hits()).as("12:01:00.000, next window").isEqualTo(1);
    assertThat(next.windowEndMillis()).isEqualTo(now.get() + MINUTE.toMillis());
  }

  @Test
  void keysAreCountedApart() {
    counters.add("route-a", MINUTE, 3);
    counters.add("route-b", MINUTE, 1);

    assertThat(counters.add("route-a", MINUTE, 0).orElseThrow().hits()).isEqualTo(3);
    assertThat(counters.add("route-b", MINUTE, 0).orElseThrow().hits()).isEqualTo(1);
  }

  @Test
  void zeroHitsOnlyReads() {
    counters.add("k", MINUTE, 2);

    assertThat(counters.add("k", MINUTE, 0).orElseThrow().hits()).isEqualTo(2);
    assertThat(counters.add("k", MINUTE, 0).orElseThrow().hits()).isEqualTo(2);
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
        highest.add(pool.submit(() -> {
          start.await();
          long max = 0;
          for (int i = 0; i < hitsPerThread; i++) {
            max = Math.max(max, counters.add("shared", MINUTE, 1).orElseThrow().hits());
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
      assertThat(counters.add("shared", MINUTE, 0).orElseThrow().hits()).isEqualTo((long) threads * hitsPerThread);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void hitsRacingWithTheSweepOfTheirWindowAreNeitherLostNorCountedTwice() throws Exception {
    // 10 ms windows on a clock that moves 7 ms per hit, swept on every call: windows end and are swept while
    // other threads count in them. A hit that landed in a window already swept would count in a window nobody
    // sees, and two hits of one window would then both be told "1st" (or the same later number).
    AtomicLong clock = new AtomicLong();
    FixedWindowCounters racing = new FixedWindowCounters(clock::get, 1_000, 0);
    int threads = 4;
    int hitsPerThread = 50_000;
    java.util.Set<FixedWindowCounters.Count> answers = java.util.concurrent.ConcurrentHashMap.newKeySet();
    AtomicLong duplicates = new AtomicLong();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        done.add(pool.submit(() -> {
          for (int i = 0; i < hitsPerThread; i++) {
            clock.addAndGet(7);
            if (!answers.add(racing.add("k", Duration.ofMillis(10), 1).orElseThrow())) {
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
      counters.add("client-" + i, Duration.ofSeconds(1), 1);
    }
    assertThat(counters.size()).isEqualTo(500);

    now.addAndGet(Duration.ofSeconds(2).toMillis());
    counters.add("later", Duration.ofSeconds(1), 1);

    assertThat(counters.size()).isEqualTo(1);
  }

  @Test
  void aFullTableLeavesNewKeysUncountedRatherThanEvictingLiveOnes() {
    FixedWindowCounters small = new FixedWindowCounters(now::get, 2);
    small.add("a", MINUTE, 1);
    small.add("b", MINUTE, 1);

    assertThat(small.add("c", MINUTE, 1)).isEqualTo(Optional.empty());
    assertThat(small.add("a", MINUTE, 1).orElseThrow().hits()).as("live keys keep counting").isEqualTo(2);

    now.addAndGet(MINUTE.toMillis());
    assertThat(small.add("c", MINUTE, 1)).as("room again once windows end").isPresent();
  }
}
