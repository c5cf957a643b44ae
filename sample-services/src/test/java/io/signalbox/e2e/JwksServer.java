package io.signalbox.e2e;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * An identity provider's key endpoint on loopback: serves whatever JWKS it currently holds, so
 * tests can rotate keys.
 */
final class JwksServer implements AutoCloseable {

  private static final String PATH = "/.well-known/jwks.json";

  private final HttpServer server;
  private final AtomicReference<String> jwks;
  private final AtomicInteger fetches = new AtomicInteger();

  private JwksServer(HttpServer server, String initialJwks) {
    this.server = server;
    this.jwks = new AtomicReference<>(initialJwks);
  }

  static JwksServer start(String initialJwks) {
    HttpServer server;
    try {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot listen on 127.0.0.1", e);
    }
    JwksServer jwksServer = new JwksServer(server, initialJwks);
    server.createContext(PATH, jwksServer::serve);
    server.start();
    return jwksServer;
  }

  URI uri() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + PATH);
  }

  /** From now on, serves {@code newJwks} instead. */
  void publish(String newJwks) {
    jwks.set(newJwks);
  }

  /** How many times the JWKS was fetched. */
  int fetches() {
    return fetches.get();
  }

  private void serve(HttpExchange exchange) throws IOException {
    try (exchange) {
      fetches.incrementAndGet();
      byte[] body = jwks.get().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("content-type", "application/json");
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
