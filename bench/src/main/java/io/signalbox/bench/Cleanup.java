package io.signalbox.bench;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Everything a benchmark starts (processes, channels, servers) is registered here and closed in
 * reverse order: by the benchmark's finally block normally, and by a shutdown hook if the JVM is
 * interrupted (Ctrl-C) first.
 */
final class Cleanup implements AutoCloseable {

  private final Deque<AutoCloseable> resources = new ArrayDeque<>();
  private final Thread hook = new Thread(this::closeAll, "bench-cleanup");

  Cleanup() {
    Runtime.getRuntime().addShutdownHook(hook);
  }

  synchronized <T extends AutoCloseable> T add(T resource) {
    resources.push(resource);
    return resource;
  }

  @Override
  public void close() {
    closeAll();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // The hook is running or has run.
    }
  }

  private void closeAll() {
    while (true) {
      AutoCloseable next;
      synchronized (this) {
        next = resources.poll();
      }
      if (next == null) {
        return;
      }
      try {
        next.close();
      } catch (Exception e) {
        System.err.println("cleanup: " + next + ": " + e);
      }
    }
  }
}
