package com.example.hello;

import com.sun.net.httpserver.HttpServer;
import io.signalbox.client.Registration;
import io.signalbox.client.RegistrationException;
import io.signalbox.client.RegistryClient;
import io.signalbox.client.Routes;
import io.signalbox.client.ServiceRegistration;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

/**
 * The service "hello": answers {@code GET /hello} on a small HTTP server of its own, registers with
 * a Signalbox control plane so that the gateway serves it under {@code /hello}, and stays
 * registered until Ctrl-C (or SIGTERM), when it deregisters.
 *
 * <p>Settings, from the environment:
 *
 * <ul>
 *   <li>{@code SIGNALBOX_TARGET}: the control plane's registry address, default {@code
 *       127.0.0.1:18000};
 *   <li>{@code SIGNALBOX_CERT}, {@code SIGNALBOX_KEY}, {@code SIGNALBOX_CA}: the service's
 *       certificate, its key and the CA bundle (PEM), for a control plane on mutual TLS; without
 *       them the client speaks plaintext, which only {@code signalbox --insecure-plaintext}
 *       accepts;
 *   <li>{@code HELLO_HOST}, {@code HELLO_PORT}: where Envoy reaches this process, default {@code
 *       127.0.0.1} and {@code 8080}.
 * </ul>
 */
public final class Main {

  private Main() {}

  public static void main(String[] args) throws IOException, InterruptedException {
    String target = env("SIGNALBOX_TARGET", "127.0.0.1:18000");
    String host = env("HELLO_HOST", "127.0.0.1");
    int port = Integer.parseInt(env("HELLO_PORT", "8080"));
    String instanceId = "hello-" + host + "-" + port;

    HttpServer server = HttpServer.create(new InetSocketAddress(port), 0);
    server.createContext(
        "/hello",
        exchange -> {
          byte[] body = ("hello from " + instanceId + "\n").getBytes(StandardCharsets.UTF_8);
          exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
          exchange.sendResponseHeaders(200, body.length);
          try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
          }
        });
    server.start();

    RegistryClient client = client(target);
    Registration registration;
    try {
      // Blocks until the control plane accepted it; retries for up to 30 s while it is unreachable.
      registration =
          client.register(
              ServiceRegistration.builder("hello")
                  .instance(instanceId, host, port)
                  .route(Routes.prefix("/hello").methods("GET").timeout(Duration.ofSeconds(3)))
                  .build());
    } catch (RegistrationException e) {
      // Refused (the status names the offending field) or unreachable: nothing to keep alive.
      System.err.println("Could not register: " + e.getMessage());
      client.close();
      server.stop(0);
      System.exit(1);
      return;
    }
    System.out.println(
        "Registered "
            + registration.registration()
            + " (lease TTL "
            + registration.ttl().toMillis()
            + " ms); the gateway serves GET /hello. Ctrl-C to stop.");

    // From here on the SDK keeps the lease alive, and registers again by itself if the control
    // plane
    // restarts or loses it. On Ctrl-C: deregister first (the gateway stops sending requests at
    // once), then stop serving.
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  client.close();
                  server.stop(1);
                  stopped.countDown();
                },
                "hello-shutdown"));
    stopped.await();
  }

  /**
   * Mutual TLS when the three files are given, else plaintext. The client's own shutdown hook is
   * off: the one in {@link #main} deregisters, in order with stopping the HTTP server.
   */
  private static RegistryClient client(String target) {
    RegistryClient.Builder builder = RegistryClient.builder().target(target).shutdownHook(false);
    String cert = System.getenv("SIGNALBOX_CERT");
    String key = System.getenv("SIGNALBOX_KEY");
    String ca = System.getenv("SIGNALBOX_CA");
    if (cert != null && key != null && ca != null) {
      builder.mutualTls(Path.of(cert), Path.of(key), Path.of(ca));
    }
    return builder.build();
  }

  private static String env(String name, String otherwise) {
    String value = System.getenv(name);
    return value == null || value.isBlank() ? otherwise : value;
  }
}
