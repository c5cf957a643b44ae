package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * A stream's pending names give back the room a large subscription took once it is drained, and no
 * name added meanwhile (the publisher adds the endpoints of remade clusters) is lost.
 */
class PendingNamesTest {

  @Test
  void aLargeSubscriptionOnceDrainedLeavesAFreshSet() {
    PendingNames names = new PendingNames();
    names.addAll(names(5_000, "c"));
    java.util.Set<String> grown = names.delegate();

    names.compactIfDrained();
    assertThat(names.delegate()).as("not drained yet").isSameAs(grown);

    names.removeIf(name -> true);
    names.compactIfDrained();

    assertThat(names.delegate()).isNotSameAs(grown);
    assertThat(names).isEmpty();
    names.add("c1");
    assertThat(names).containsExactly("c1");
  }

  @Test
  void aSmallSetIsKept() {
    PendingNames names = new PendingNames();
    names.addAll(names(10, "c"));
    names.removeIf(name -> true);
    java.util.Set<String> small = names.delegate();

    names.compactIfDrained();

    assertThat(names.delegate()).isSameAs(small);
  }

  @Test
  void noNameAddedWhileTheSetIsReplacedIsLost() throws Exception {
    PendingNames names = new PendingNames();
    List<String> subscribed = names(1_100, "subscribed-");
    Set<String> removed = ConcurrentHashMap.newKeySet();
    AtomicBoolean adding = new AtomicBoolean(true);
    ExecutorService threads = Executors.newFixedThreadPool(2);
    try {
      // The stream: subscribes to many names, is sent them all, and gives the room back; over and
      // over, while the publisher adds names of its own.
      Future<?> stream =
          threads.submit(
              () -> {
                while (adding.get()) {
                  names.addAll(subscribed);
                  names.removeIf(
                      name -> {
                        removed.add(name);
                        return true;
                      });
                  names.compactIfDrained();
                }
                return null;
              });
      List<String> added = names(400_000, "remade-");
      Future<?> publisher =
          threads.submit(
              () -> {
                added.forEach(names::add);
                adding.set(false);
                return null;
              });
      publisher.get(30, TimeUnit.SECONDS);
      stream.get(30, TimeUnit.SECONDS);

      // Each name added is either still pending or was taken off by the stream: none went with a
      // replaced set.
      List<String> lost =
          added.stream().filter(name -> !names.contains(name) && !removed.contains(name)).toList();
      assertThat(lost).isEmpty();
    } finally {
      threads.shutdownNow();
    }
  }

  private static List<String> names(int count, String prefix) {
    List<String> names = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      names.add(prefix + i);
    }
    return names;
  }
}
