package io.signalbox.testing;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A bounded load loop through Envoy: one thread sends GETs to the URLs in turn until stopped, and
 * counts the answers by status ({@link #CONNECTION_FAILED} when there was none). Every status but
 * 200 is a failure.
 */
public final class LoadLoop implements AutoCloseable {

  /** The "status" of a request that got no HTTP answer at all. */
  public static final int CONNECTION_FAILED = -1;

  private final AtomicBoolean running = new AtomicBoolean(true);
  private final Map<Integer, Long> statuses = new TreeMap<>();
  private final AtomicReference<String> lastFailure = new AtomicReference<>("none");
  private final Thread thread;

  private LoadLoop(String name, List<String> urls, Duration pause) {
    thread =
        new Thread(
            () -> {
              int next = 0;
              while (running.get()) {
                String url = urls.get(next++ % urls.size());
                int status;
                try {
                  HttpProbe.Response response = HttpProbe.get(url);
                  status = response.status();
                  if (status != 200) {
                    lastFailure.set(url + " -> " + status + " " + response.body());
                  }
                } catch (RuntimeException e) {
                  status = CONNECTION_FAILED;
                  lastFailure.set(url + " -> " + e);
                }
                synchronized (statuses) {
                  statuses.merge(status, 1L, Long::sum);
                }
                if (!pause.isZero()) {
                  try {
                    Thread.sleep(pause.toMillis());
                  } catch (InterruptedException e) {
                    return;
                  }
                }
              }
            },
            name);
    thread.setDaemon(true);
  }

  /** Starts sending to {@code urls} in turn, pausing {@code pause} after each request. */
  public static LoadLoop start(String name, List<String> urls, Duration pause) {
    LoadLoop loop = new LoadLoop(name, urls, pause);
    loop.thread.start();
    return loop;
  }

  /** Stops after the request in flight; returns how many were sent. */
  public long stop() throws InterruptedException {
    running.set(false);
    thread.join(Duration.ofSeconds(10).toMillis());
    return sent();
  }

  /** Requests answered, by status. */
  public Map<Integer, Long> statuses() {
    synchronized (statuses) {
      return Map.copyOf(statuses);
    }
  }

  public long sent() {
    return statuses().values().stream().mapToLong(Long::longValue).sum();
  }

  public long succeeded() {
    return statuses().getOrDefault(200, 0L);
  }

  public long failures() {
    return sent() - succeeded();
  }

  /** The last request that was not a 200, for assertion messages. */
  public String lastFailure() {
    return lastFailure.get();
  }

  @Override
  public void close() throws InterruptedException {
    stop();
  }
}
