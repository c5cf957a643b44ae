package io.signalbox.samples;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A backend that answers every request with 200 and a JSON description of the request and of
 * itself, so that a test or a person behind the gateway can see which instance served it and what
 * reached it (path after rewriting, headers added by Envoy). {@code /healthz} answers "ok".
 */
public final class EchoService implements AutoCloseable {

  public static final String INSTANCE_HEADER = "x-signalbox-instance";

  static {
    // The JDK server leaves Nagle's algorithm on; behind a proxy that waits for the whole response,
    // every
    // small answer would then wait ~40 ms for a delayed ACK. Read once, when the JDK server first
    // loads.
    if (System.getProperty("sun.net.httpserver.nodelay") == null) {
      System.setProperty("sun.net.httpserver.nodelay", "true");
    }
  }

  private final String service;
  private final String instanceId;
  private final HttpServer server;
  private final ExecutorService workers;

  private EchoService(
      String service, String instanceId, HttpServer server, ExecutorService workers) {
    this.service = service;
    this.instanceId = instanceId;
    this.server = server;
    this.workers = workers;
  }

  /** Starts serving on {@code host:port}; port 0 picks a free port, see {@link #port()}. */
  public static EchoService start(String service, String instanceId, String host, int port) {
    HttpServer server;
    try {
      server = HttpServer.create(new InetSocketAddress(host, port), 0);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot listen on " + host + ":" + port, e);
    }
    ExecutorService workers = Executors.newFixedThreadPool(8, daemonThreads("echo-" + instanceId));
    EchoService echo = new EchoService(service, instanceId, server, workers);
    server.createContext("/", echo::handle);
    server.setExecutor(workers);
    server.start();
    return echo;
  }

  public String service() {
    return service;
  }

  public String instanceId() {
    return instanceId;
  }

  public String host() {
    return server.getAddress().getHostString();
  }

  /** The port actually listened on, also when started with port 0. */
  public int port() {
    return server.getAddress().getPort();
  }

  @Override
  public void close() {
    server.stop(0);
    workers.shutdownNow();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange;
        InputStream body = exchange.getRequestBody()) {
      // Drain the request so the connection can be reused for the next request.
      body.transferTo(OutputStream.nullOutputStream());
      String path = exchange.getRequestURI().getRawPath();
      boolean health = path.equals("/healthz");
      byte[] response = (health ? "ok" : describe(exchange, path)).getBytes(StandardCharsets.UTF_8);

      exchange.getResponseHeaders().set("Content-Type", health ? "text/plain" : "application/json");
      exchange.getResponseHeaders().set(INSTANCE_HEADER, instanceId);
      if (exchange.getRequestMethod().equals("HEAD")) {
        exchange.sendResponseHeaders(200, -1);
        return;
      }
      exchange.sendResponseHeaders(200, response.length);
      exchange.getResponseBody().write(response);
    }
  }

  private String describe(HttpExchange exchange, String path) {
    // The JDK capitalises header names ("Content-type"); HTTP/2 and Envoy use lowercase, so report
    // those.
    Map<String, String> headers = new TreeMap<>();
    exchange
        .getRequestHeaders()
        .forEach(
            (name, values) ->
                headers.merge(
                    name.toLowerCase(Locale.ROOT),
                    String.join(",", values),
                    (a, b) -> a + "," + b));
    StringJoiner headerJson = new StringJoiner(",", "{", "}");
    headers.forEach((name, value) -> headerJson.add(Json.quote(name) + ":" + Json.quote(value)));
    return "{"
        + String.join(
            ",",
            List.of(
                field("service", service),
                field("instance", instanceId),
                field("method", exchange.getRequestMethod()),
                field("path", path),
                Json.quote("headers") + ":" + headerJson))
        + "}";
  }

  private static String field(String name, String value) {
    return Json.quote(name) + ":" + Json.quote(value);
  }

  /**
   * Daemon threads named {@code prefix-1}, {@code prefix-2}, ...: a sample never holds the JVM up.
   */
  static ThreadFactory daemonThreads(String prefix) {
    AtomicInteger count = new AtomicInteger();
    return runnable -> {
      Thread thread = new Thread(runnable, prefix + "-" + count.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }
}
