package io.signalbox.testing;

import java.util.Comparator;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The Envoys this JVM has started: remembered so that {@link EnvoyLogsOnFailure} can show their
 * logs, and killed when the JVM exits so that an aborted test run leaves no orphan Envoy behind.
 */
final class LaunchedEnvoys {

  // Exited Envoys are forgotten beyond this many, so a long run does not hold on to every process
  // it started.
  private static final int MAX_REMEMBERED = 64;
  private static final AtomicLong SERIALS = new AtomicLong();
  private static final Deque<EnvoyProcess> RECENT = new ConcurrentLinkedDeque<>();

  static {
    Runtime.getRuntime()
        .addShutdownHook(new Thread(() -> RECENT.forEach(EnvoyProcess::kill), "kill-test-envoys"));
  }

  private LaunchedEnvoys() {}

  static long nextSerial() {
    return SERIALS.incrementAndGet();
  }

  static long latestSerial() {
    return SERIALS.get();
  }

  static void remember(EnvoyProcess envoy) {
    RECENT.addLast(envoy);
    Iterator<EnvoyProcess> oldestFirst = RECENT.iterator();
    while (RECENT.size() > MAX_REMEMBERED && oldestFirst.hasNext()) {
      if (!oldestFirst.next().isAlive()) {
        oldestFirst.remove();
      }
    }
  }

  /** Envoys started after {@code serial}, plus any still running, in start order. */
  static List<EnvoyProcess> startedAfterOrAlive(long serial) {
    return RECENT.stream()
        .filter(envoy -> envoy.serial() > serial || envoy.isAlive())
        .sorted(Comparator.comparingLong(EnvoyProcess::serial))
        .toList();
  }
}
