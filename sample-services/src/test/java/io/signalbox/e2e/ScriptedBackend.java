package io.signalbox.e2e;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntUnaryOperator;

/**
 * An HTTP backend whose answers a test scripts: the status of its n-th request (counted from 1),
 * after a delay; the body is its name. For policies that react to failures (retries, outlier
 * detection) and to load (circuit breakers).
 */
final class ScriptedBackend implements AutoCloseable {

  private final HttpServer server;

  /** Enough for every request of a retry storm at once: a queue would spread its waves out. */
  private final ExecutorService workers = Executors.newFixedThreadPool(256);

  private final AtomicInteger requests = new AtomicInteger();
  private final java.util.Queue<String> received =
      new java.util.concurrent.ConcurrentLinkedQueue<>();

  private ScriptedBackend(String name, IntUnaryOperator statusOfRequest, Duration delay) {
    try {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 256);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    server.setExecutor(workers);
    server.createContext(
        "/",
        exchange -> {
          received.add(
              exchange.getRequestHeaders().getFirst("Host") + " " + exchange.getRequestURI());
          int status = statusOfRequest.applyAsInt(requests.incrementAndGet());
          try {
            Thread.sleep(delay.toMillis());
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          byte[] body = name.getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(status, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    server.start();
  }

  /** Answers 503 to its first {@code failures} requests, 200 after. */
  static ScriptedBackend failingFirst(int failures, Duration delay) {
    return new ScriptedBackend("failing-first", n -> n <= failures ? 503 : 200, delay);
  }

  /** Answers {@code status} to every request. */
  static ScriptedBackend always(String name, int status, Duration delay) {
    return new ScriptedBackend(name, n -> status, delay);
  }

  int port() {
    return server.getAddress().getPort();
  }

  /** Requests received so far. */
  int requests() {
    return requests.get();
  }

  /** Each request received so far, as its Host header and its path, in order of arrival. */
  java.util.List<String> received() {
    return java.util.List.copyOf(received);
  }

  @Override
  public void close() {
    server.stop(0);
    workers.shutdownNow();
  }
}
