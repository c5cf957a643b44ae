package io.signalbox.metrics;

import com.google.common.util.concurrent.ThreadFactoryBuilder;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * {@code GET /metrics} in the Prometheus text format, on a port of its own: scrapers reach it
 * without reaching the registry API or the admin API. The JDK's HTTP server is plenty for one
 * scrape every few seconds.
 */
public final class MetricsServer implements AutoCloseable {

  public static final String PATH = "/metrics";
  static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private final HttpServer server;
  private final ExecutorService executor;

  private MetricsServer(HttpServer server, ExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  /**
   * @throws UncheckedIOException when the address cannot be bound
   */
  public static MetricsServer start(String address, int port, SignalboxMetrics metrics) {
    HttpServer server;
    try {
      server = HttpServer.create(new InetSocketAddress(address, port), 0);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot listen on " + address + ":" + port + " (metrics)", e);
    }
    ExecutorService executor =
        Executors.newSingleThreadExecutor(
            new ThreadFactoryBuilder().setNameFormat("signalbox-metrics").setDaemon(true).build());
    server.setExecutor(executor);
    server.createContext(
        "/",
        exchange -> {
          try (exchange) {
            if (!exchange.getRequestURI().getPath().equals(PATH)) {
              respond(
                  exchange,
                  404,
                  "text/plain; charset=utf-8",
                  "Signalbox serves metrics at " + PATH + "\n");
            } else if (!exchange.getRequestMethod().equals("GET")
                && !exchange.getRequestMethod().equals("HEAD")) {
              exchange.getResponseHeaders().set("Allow", "GET, HEAD");
              respond(exchange, 405, "text/plain; charset=utf-8", "GET only\n");
            } else {
              respond(exchange, 200, CONTENT_TYPE, metrics.scrape());
            }
          }
        });
    server.start();
    return new MetricsServer(server, executor);
  }

  /** The port actually bound. */
  public int port() {
    return server.getAddress().getPort();
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }

  private static void respond(HttpExchange exchange, int status, String contentType, String body)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", contentType);
    boolean head = exchange.getRequestMethod().equals("HEAD");
    exchange.sendResponseHeaders(status, head ? -1 : bytes.length);
    if (!head) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    }
  }
}
