package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.signalbox.client.Routes;
import io.signalbox.client.ServiceRegistration;
import io.signalbox.config.SidecarSettings;
import io.signalbox.samples.EchoService;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.FreePorts;
import io.signalbox.testing.HttpProbe;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Sidecar mode through real Envoys: {@code orders} calls {@code http://users/...} through its
 * sidecar's outbound listener, and the request reaches the {@code users} application over mutual
 * TLS through the inbound listener of the sidecar beside it, which tells the application the
 * caller's SPIFFE ID; a caller users does not allow gets 403, and a client without a workload
 * certificate is refused; the edge gateway reaches {@code users} through that sidecar too, and a
 * new {@code users} instance is called as soon as it registers.
 */
@ExtendWith(EnvoyLogsOnFailure.class)
class SidecarEndToEndTest {

  private static final Duration REACHES_ENVOY = Duration.ofSeconds(10);

  /** One request to the listener on {@code port}, naming the callee in Host. */
  private static Http1ResponseReader.Read call(
      int port, String host, String path, String... headers) throws IOException {
    return Http1ResponseReader.get(port, host, path, headers);
  }

  private static boolean answersFrom(int port, String host, String instance) {
    return answersFrom(port, host, "/hello", instance);
  }

  /** Whether a request for {@code path} is answered 200 by {@code instance}. */
  private static boolean answersFrom(
      int port, String host, String path, String instance, String... headers) {
    try {
      Http1ResponseReader.Read read = call(port, host, path, headers);
      return read.status() == 200
          && instance.equals(read.headers().get(EchoService.INSTANCE_HEADER));
    } catch (IOException e) {
      return false;
    }
  }

  /** Whether {@code count} requests in a row are answered 200, each by one of {@code instances}. */
  private static boolean onlyFrom(int port, String host, int count, Set<String> instances) {
    for (int i = 0; i < count; i++) {
      try {
        Http1ResponseReader.Read read = call(port, host, "/hello");
        if (read.status() != 200
            || !instances.contains(read.headers().get(EchoService.INSTANCE_HEADER))) {
          return false;
        }
      } catch (IOException e) {
        return false;
      }
    }
    return true;
  }

  /** Whether plain HTTP (no TLS, no certificate) to {@code port} gets any HTTP answer. */
  private static boolean plainRequestIsAnswered(int port) {
    try {
      call(port, "users", "/hello");
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Whether a TLS client that trusts any server but presents no certificate gets an HTTP answer
   * from {@code port}. Over TLS 1.3 the server asks for the certificate after the client's part of
   * the handshake, so the refusal may come as an alert on the first read.
   */
  private static boolean tlsRequestWithoutACertificateIsAnswered(int port) {
    try {
      javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLS");
      context.init(
          null,
          new javax.net.ssl.TrustManager[] {
            new javax.net.ssl.X509TrustManager() {
              @Override
              public void checkClientTrusted(
                  java.security.cert.X509Certificate[] chain, String authType) {}

              @Override
              public void checkServerTrusted(
                  java.security.cert.X509Certificate[] chain, String authType) {}

              @Override
              public java.security.cert.X509Certificate[] getAcceptedIssuers() {
                return new java.security.cert.X509Certificate[0];
              }
            }
          },
          null);
      try (javax.net.ssl.SSLSocket socket =
          (javax.net.ssl.SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port)) {
        socket.setSoTimeout(5_000);
        socket.setEnabledProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
        socket.startHandshake();
        socket
            .getOutputStream()
            .write(
                "GET /hello HTTP/1.1\r\nHost: users\r\nConnection: close\r\n\r\n"
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
        byte[] answer = socket.getInputStream().readNBytes(12);
        return new String(answer, java.nio.charset.StandardCharsets.US_ASCII).startsWith("HTTP/");
      }
    } catch (IOException e) {
      return false;
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The JWT provider "corp", trusting the keys of {@code tokens}. */
  private static io.signalbox.config.JwtProviderSpec corp(String issuer, TestTokens tokens) {
    return io.signalbox.config.JwtProviderSpec.builder("corp", issuer)
        .anyAudience()
        .jwks(new io.signalbox.config.JwtProviderSpec.InlineJwks(tokens.jwks()))
        .build();
  }

  private static ServiceRegistration users(String id, int inboundPort, int applicationPort) {
    return ServiceRegistration.builder("users")
        .instance(id, "127.0.0.1", inboundPort)
        .applicationPort(applicationPort)
        .route(Routes.prefix("/users"))
        .allowedCaller("orders")
        .allowedCaller("spiffe://signalbox.local/envoy/edge")
        .build();
  }

  @Test
  void ordersCallsUsersThroughBothSidecars() throws Exception {
    // Every sidecar runs on this one host, so each service's sidecars get an outbound port of
    // their own (sidecars.outboundPorts), as services sharing a host would.
    int ordersOutbound = FreePorts.allocate();
    int usersOutbound = FreePorts.allocate();
    int billingOutbound = FreePorts.allocate();
    try (GatewayFixture gateway =
        GatewayFixture.startWithSidecars(
            new SidecarSettings(
                    "127.0.0.1",
                    ordersOutbound,
                    Duration.ofHours(1),
                    Map.of("users", usersOutbound, "billing", billingOutbound))
                .withDomain("svc.example.test"))) {
      EchoService usersApp = gateway.backend("users", "users-1");
      int usersInbound = FreePorts.allocate();
      gateway.register(users("users-1", usersInbound, usersApp.port()));
      gateway.serve("orders", "orders-1", Routes.prefix("/orders"));
      gateway.serve("billing", "billing-1", Routes.prefix("/billing"));
      EnvoyProcess usersSidecar = gateway.startSidecar("users");
      EnvoyProcess ordersSidecar = gateway.startSidecar("orders");
      EnvoyProcess billingSidecar = gateway.startSidecar("billing");
      usersSidecar.awaitReady();
      ordersSidecar.awaitReady();
      billingSidecar.awaitReady();

      Awaitility.await()
          .atMost(REACHES_ENVOY)
          .until(() -> answersFrom(ordersOutbound, "users", "users-1"));
      Http1ResponseReader.Read called = call(ordersOutbound, "users:8080", "/hello?from=orders");
      assertThat(called.status()).isEqualTo(200);
      assertThat(called.headers()).containsEntry(EchoService.INSTANCE_HEADER, "users-1");
      assertThat(called.body())
          .as("users sees who called: orders' workload identity, from its verified certificate")
          .contains("/hello")
          .contains("URI=spiffe://signalbox.local/service/orders");
      assertThat(
              call(ordersOutbound, "users:8080", "/hello", "X-Forwarded-For: 203.0.113.9").body())
          .as("an address the caller's application claims does not reach users' sidecar")
          .doesNotContain("203.0.113.9");
      assertThat(
              call(ordersOutbound, "users.svc.example.test:8080", "/hello")
                  .headers()
                  .get(EchoService.INSTANCE_HEADER))
          .as("users under the mesh's domain (sidecars.domain)")
          .isEqualTo("users-1");
      assertThat(call(ordersOutbound, "nosuch", "/hello").status())
          .as("no such service: no virtual host")
          .isEqualTo(404);
      assertThat(usersSidecar.statValue("http.sidecar-inbound-" + usersInbound + ".rq_total"))
          .as("the request came in through the users sidecar")
          .isPositive();

      // Billing's and users' sidecars may still be taking their configuration: wait for an answer
      // from the far side (never a 200 from users for billing).
      Http1ResponseReader.Read refused =
          Awaitility.await()
              .atMost(REACHES_ENVOY)
              .ignoreExceptions()
              .until(
                  () -> call(billingOutbound, "users", "/hello"),
                  read -> read.status() == 200 || read.status() == 403);
      assertThat(refused.status())
          .as("billing is not among the callers users allows")
          .isEqualTo(403);
      assertThat(refused.headers()).doesNotContainKey(EchoService.INSTANCE_HEADER);
      assertThat(
              Awaitility.await()
                  .atMost(REACHES_ENVOY)
                  .ignoreExceptions()
                  .until(
                      () -> call(usersOutbound, "billing", "/hello").status(),
                      status -> status == 200 || status == 403))
          .as("billing allows every workload of the mesh (it names no callers)")
          .isEqualTo(200);

      assertThat(plainRequestIsAnswered(usersInbound))
          .as("a plaintext client gets no answer from the inbound port")
          .isFalse();
      assertThat(tlsRequestWithoutACertificateIsAnswered(usersInbound))
          .as("nor does a TLS client without a workload certificate")
          .isFalse();
      assertThat(
              usersSidecar.statValue("listener.0.0.0.0_" + usersInbound + ".ssl.connection_error"))
          .isPositive();

      // The edge reaches the instance where it registered, the sidecar's inbound listener, with a
      // workload certificate of its own (which users allows).
      HttpProbe.Response viaEdge = HttpProbe.awaitStatus(gateway.url("/users"), 200, REACHES_ENVOY);
      assertThat(viaEdge.headers().firstValue(EchoService.INSTANCE_HEADER)).contains("users-1");
      assertThat(viaEdge.body()).contains("URI=spiffe://signalbox.local/envoy/edge");

      // A second instance (on this host, behind the same sidecar on another inbound port) is
      // called as soon as it registers.
      EchoService secondApp = gateway.backend("users", "users-2");
      long registered = System.nanoTime();
      gateway.register(users("users-2", FreePorts.allocate(), secondApp.port()));
      Awaitility.await()
          .atMost(REACHES_ENVOY)
          .pollInterval(Duration.ofMillis(5))
          .until(() -> answersFrom(ordersOutbound, "users", "users-2"));
      long reachedMillis = (System.nanoTime() - registered) / 1_000_000;
      Set<String> answered = new HashSet<>();
      for (int i = 0; i < 20; i++) {
        answered.add(
            call(ordersOutbound, "users", "/hello").headers().get(EchoService.INSTANCE_HEADER));
      }
      assertThat(answered).containsExactlyInAnyOrder("users-1", "users-2");
      System.out.printf(
          "sidecar: a new users instance was called %d ms after it registered%n", reachedMillis);

      // An instance that registers once and never renews (a process killed with SIGKILL) leaves
      // orders' sidecar within its TTL + 1 s, as it leaves the edge.
      EchoService doomedApp = gateway.backend("users", "users-doomed");
      Duration ttl = Duration.ofSeconds(1);
      gateway
          .registryStub()
          .register(
              users("users-doomed", FreePorts.allocate(), doomedApp.port()).toRequest().toBuilder()
                  .setLeaseTtl(
                      com.google.protobuf.Duration.newBuilder().setSeconds(ttl.getSeconds()))
                  .build());
      long doomedRegistered = System.nanoTime();
      Awaitility.await()
          .atMost(REACHES_ENVOY)
          .pollInterval(Duration.ofMillis(5))
          .until(() -> answersFrom(ordersOutbound, "users", "users-doomed"));
      doomedApp.close();
      // Timed to the start of the poll that found it gone, not its end: the poll's ten calls are
      // the test's time, not the control plane's.
      java.util.concurrent.atomic.AtomicLong lastPollStarted =
          new java.util.concurrent.atomic.AtomicLong();
      Awaitility.await()
          .atMost(ttl.plusSeconds(3))
          .pollInterval(Duration.ofMillis(20))
          .until(
              () -> {
                lastPollStarted.set(System.nanoTime());
                return onlyFrom(ordersOutbound, "users", 10, Set.of("users-1", "users-2"));
              });
      long leftMillis = (lastPollStarted.get() - doomedRegistered) / 1_000_000;
      System.out.printf(
          "sidecar: an instance that never renewed a %d s lease left %d ms after it registered%n",
          ttl.getSeconds(), leftMillis);
      assertThat(leftMillis)
          .as("traffic through orders' sidecar left the expired instance within TTL + 1 s")
          .isLessThanOrEqualTo(ttl.plusSeconds(1).toMillis());

      // The operator allows only orders to call users (access.callers): the edge, which users
      // allows too, is refused by users' sidecar; a caller must be allowed by both.
      io.signalbox.config.GatewaySettings settings = gateway.controlPlane().publisher().settings();
      io.signalbox.security.AccessPolicy access = settings.access();
      gateway
          .controlPlane()
          .updateSettings(
              settings.toBuilder()
                  .access(
                      new io.signalbox.security.AccessPolicy(
                          access.trustDomain(),
                          access.registrants(),
                          access.grants(),
                          access.envoys(),
                          access.operators(),
                          new java.util.TreeMap<>(Map.of("users", List.of("orders")))))
                  .build());
      HttpProbe.awaitStatus(gateway.url("/users"), 403, REACHES_ENVOY);
      assertThat(call(ordersOutbound, "users", "/hello").status())
          .as("orders, allowed by both")
          .isEqualTo(200);
      gateway.controlPlane().updateSettings(settings);
      HttpProbe.awaitStatus(gateway.url("/users"), 200, REACHES_ENVOY);

      // users stops allowing orders: orders is refused from its next request on, on the
      // connections its sidecar holds open to users' too, as the policy travels with the inbound
      // routes; a changed listener would leave them on the old filter chain while they drain.
      long listenersModified = usersSidecar.statValue("listener_manager.listener_modified");
      gateway.register(
          ServiceRegistration.builder("users")
              .instance("users-1", "127.0.0.1", usersInbound)
              .applicationPort(usersApp.port())
              .route(Routes.prefix("/users"))
              .allowedCaller("spiffe://signalbox.local/envoy/edge")
              .build());
      Awaitility.await()
          .atMost(REACHES_ENVOY)
          .until(() -> call(ordersOutbound, "users", "/hello").status() == 403);
      for (int i = 0; i < 10; i++) {
        assertThat(call(ordersOutbound, "users", "/hello").status())
            .as("orders, no longer allowed, on any instance")
            .isEqualTo(403);
      }
      assertThat(usersSidecar.statValue("listener_manager.listener_modified"))
          .as("users' sidecar changed no listener for it")
          .isEqualTo(listenersModified);
    }
  }

  /** The serial numbers of the certificates Envoy holds for {@code spiffeId} (admin /certs). */
  private static Set<String> serials(EnvoyProcess envoy, String spiffeId) throws IOException {
    Set<String> serials = new HashSet<>();
    com.fasterxml.jackson.databind.JsonNode certs =
        new com.fasterxml.jackson.databind.ObjectMapper().readTree(envoy.adminGet("/certs"));
    for (com.fasterxml.jackson.databind.JsonNode entry : certs.path("certificates")) {
      for (com.fasterxml.jackson.databind.JsonNode chain : entry.path("cert_chain")) {
        for (com.fasterxml.jackson.databind.JsonNode san : chain.path("subject_alt_names")) {
          if (spiffeId.equals(san.path("uri").asText())) {
            serials.add(chain.path("serial_number").asText());
          }
        }
      }
    }
    return serials;
  }

  @Test
  void workloadCertificatesRotateUnderLoadWithoutAFailedRequest() throws Exception {
    // Valid for 4 s: issued again every 2 s, so a few rotations happen while requests flow.
    int outbound = FreePorts.allocate();
    try (GatewayFixture gateway =
        GatewayFixture.startWithSidecars(
            new SidecarSettings(
                "127.0.0.1",
                outbound,
                Duration.ofSeconds(4),
                Map.of("users", FreePorts.allocate())))) {
      EchoService usersApp = gateway.backend("users", "users-1");
      int usersInbound = FreePorts.allocate();
      gateway.register(
          ServiceRegistration.builder("users")
              .instance("users-1", "127.0.0.1", usersInbound)
              .applicationPort(usersApp.port())
              .build());
      gateway.serve("orders", "orders-1", Routes.prefix("/orders"));
      EnvoyProcess usersSidecar = gateway.startSidecar("users");
      EnvoyProcess ordersSidecar = gateway.startSidecar("orders");
      usersSidecar.awaitReady();
      ordersSidecar.awaitReady();
      Awaitility.await()
          .atMost(REACHES_ENVOY)
          .until(() -> answersFrom(outbound, "users", "users-1"));
      String orders = "spiffe://signalbox.local/service/orders";
      Set<String> first = serials(ordersSidecar, orders);

      Set<String> seen = new HashSet<>(first);
      int requests = 0;
      List<String> failures = new ArrayList<>();
      long end = System.nanoTime() + Duration.ofSeconds(7).toNanos();
      while (System.nanoTime() < end) {
        // A new connection each time, so every request is a new handshake between the sidecars.
        try {
          Http1ResponseReader.Read read = call(outbound, "users", "/hello");
          if (read.status() != 200) {
            failures.add("status " + read.status());
          }
        } catch (IOException e) {
          failures.add(e.toString());
        }
        requests++;
        if (requests % 50 == 0) {
          seen.addAll(serials(ordersSidecar, orders));
        }
      }
      seen.addAll(serials(ordersSidecar, orders));

      assertThat(failures).as("failed of %d requests", requests).isEmpty();
      assertThat(seen)
          .as("orders' certificate serials in Envoy's /certs while requests flowed")
          .hasSizeGreaterThanOrEqualTo(3);
      assertThat(serials(ordersSidecar, orders)).doesNotContainAnyElementsOf(first);
      System.out.printf(
          "sidecar: %d requests in 7 s through rotating certificates (%d serials), 0 failed%n",
          requests, seen.size());
    }
  }

  /** The xDS updates a sidecar has taken so far: listeners, clusters and its outbound routes. */
  private static long updatesTaken(EnvoyProcess sidecar) {
    return sidecar.statValue("listener_manager.lds.update_attempt")
        + sidecar.statValue("cluster_manager.cds.update_attempt")
        + sidecar.statValue("http.sidecar-outbound.rds.sidecar-outbound.update_attempt");
  }

  @Test
  void aSidecarScopedToWhatItCallsHoldsNothingElseAndHearsNothingOfOtherServices()
      throws Exception {
    int outbound = FreePorts.allocate();
    // The operator's mesh CA (sidecars.ca), as replicas on etcd need.
    io.signalbox.ca.CertificateAuthority operatorCa =
        io.signalbox.ca.CertificateAuthority.create(
            new javax.security.auth.x500.X500Principal("CN=operator mesh CA"),
            java.util.Optional.of("signalbox.local"),
            Duration.ofDays(1),
            java.time.Clock.systemUTC());
    try (ScriptedBackend flaky = ScriptedBackend.failingFirst(1, Duration.ZERO);
        GatewayFixture gateway =
            GatewayFixture.startWithSidecars(
                new SidecarSettings(
                    "127.0.0.1",
                    outbound,
                    Duration.ofHours(1),
                    Map.of(),
                    java.util.Optional.of(operatorCa)))) {
      gateway.serve("users", "users-1", Routes.prefix("/users"));
      gateway.serve("billing", "billing-1", Routes.prefix("/billing"));
      // A callee whose route retries: its first answer is a 503.
      gateway.register(
          ServiceRegistration.builder("flaky")
              .instance("flaky-1", "127.0.0.1", flaky.port())
              .route(
                  io.signalbox.registry.v1.Route.newBuilder()
                      .setPath(io.signalbox.registry.v1.PathMatch.newBuilder().setPrefix("/flaky"))
                      .setRetry(io.signalbox.registry.v1.RetryPolicy.newBuilder().setAttempts(2))
                      .build())
              .build());
      EchoService ordersApp = gateway.backend("orders", "orders-1");
      int ordersInbound = FreePorts.allocate();
      gateway.register(
          ServiceRegistration.builder("orders")
              .instance("orders-1", "127.0.0.1", ordersInbound)
              .applicationPort(ordersApp.port())
              .calls("users")
              .calls("flaky")
              .build());
      EnvoyProcess ordersSidecar = gateway.startSidecar("orders");
      ordersSidecar.awaitReady();
      Awaitility.await()
          .atMost(REACHES_ENVOY)
          .until(() -> answersFrom(outbound, "users", "users-1"));
      // Its own inbound listener too (with its certificate): the sidecar holds all it will be
      // sent.
      Awaitility.await()
          .atMost(REACHES_ENVOY)
          .until(
              () ->
                  ordersSidecar
                      .findStat("listener.0.0.0.0_" + ordersInbound + ".downstream_cx_total")
                      .isPresent());

      com.fasterxml.jackson.databind.JsonNode proxies =
          new com.fasterxml.jackson.databind.ObjectMapper()
              .readTree(
                  io.signalbox.testing.SignalboxCtlRun.against(
                          gateway.controlPlane().adminPort(), "proxies", "-o", "json")
                      .out())
              .path("proxies");
      assertThat(proxies.findValuesAsText("group")).contains("edge", "sidecar/orders");
      assertThat(proxies.findValuesAsText("role"))
          .as("signalboxctl proxies shows each Envoy's role, and a sidecar's workload")
          .containsExactlyInAnyOrder("edge", "sidecar");
      assertThat(proxies.findValuesAsText("workload")).contains("orders");
      assertThat(proxies.findValuesAsText("certificateExpires"))
          .as("when the workload certificates of the edge and the sidecar expire")
          .hasSize(2);

      assertThat(ordersSidecar.adminGet("/certs"))
          .as("the sidecar trusts, and holds a certificate from, the operator's CA")
          .contains(operatorCa.certificate().getSerialNumber().toString(16));

      assertThat(call(outbound, "flaky", "/flaky/1").status())
          .as("the callee's retry policy applies to a call through the mesh: its 503 is retried")
          .isEqualTo(200);
      assertThat(flaky.requests()).as("the failed try and the retry").isEqualTo(2);
      assertThat(ordersSidecar.statValue("cluster.svc-flaky.upstream_rq_retry_success"))
          .isEqualTo(1);

      assertThat(call(outbound, "billing", "/hello").status())
          .as("orders calls only users and flaky: no route to billing")
          .isEqualTo(404);
      assertThat(ordersSidecar.configDump()).contains("svc-users").doesNotContain("svc-billing");

      long before = updatesTaken(ordersSidecar);
      gateway.serve("inventory", "inventory-1", Routes.prefix("/inventory"));
      gateway.serve("billing", "billing-2", Routes.prefix("/billing"));
      HttpProbe.awaitStatus(gateway.url("/inventory"), 200, REACHES_ENVOY);
      Awaitility.await()
          .atMost(REACHES_ENVOY)
          .until(() -> gateway.envoy().statValue("cluster.svc-billing.membership_total") == 2);
      Thread.sleep(300);

      assertThat(updatesTaken(ordersSidecar))
          .as("the edge took both changes; orders' sidecar was sent nothing")
          .isEqualTo(before);

      // Its snapshot was kept through those publications; a change to a service it calls is made
      // into a new one and reaches it.
      gateway.serve("users", "users-2", Routes.prefix("/users"));
      Awaitility.await()
          .atMost(REACHES_ENVOY)
          .until(() -> ordersSidecar.statValue("cluster.svc-users.membership_total") == 2);
    }
  }

  /**
   * Once every users instance has a sidecar, users' sidecars enforce its JWT requirement and rate
   * limit on /users for every caller: a service inside the mesh gets the 401 and the 429 an outside
   * client gets, and the edge leaves both to them (the token reaches users' sidecar).
   */
  @Test
  void theSidecarsOfAServiceEnforceItsJwtAndRateLimitForTheMeshAndTheEdgeAlike() throws Exception {
    String issuer = "https://issuer.test/";
    TestTokens tokens = TestTokens.rs256(issuer, "mesh-1");
    int ordersOutbound = FreePorts.allocate();
    try (GatewayFixture gateway =
        GatewayFixture.startWithSidecars(
            new SidecarSettings(
                "127.0.0.1",
                ordersOutbound,
                Duration.ofHours(1),
                Map.of("users", FreePorts.allocate())),
            settings -> settings.jwtProvider(corp(issuer, tokens)))) {
      EchoService usersApp = gateway.backend("users", "users-1");
      int usersInbound = FreePorts.allocate();
      gateway.register(
          ServiceRegistration.builder("users")
              .instance("users-1", "127.0.0.1", usersInbound)
              .applicationPort(usersApp.port())
              .route(
                  io.signalbox.registry.v1.Route.newBuilder()
                      .setPath(io.signalbox.registry.v1.PathMatch.newBuilder().setPrefix("/users"))
                      .setAuth(
                          io.signalbox.registry.v1.AuthPolicy.newBuilder()
                              .setProvider("corp")
                              .addForwardClaims(
                                  io.signalbox.registry.v1.ClaimToHeader.newBuilder()
                                      .setClaim("sub")
                                      .setHeader("x-user-id")))
                      .setRateLimit(
                          io.signalbox.registry.v1.RateLimitPolicy.newBuilder()
                              .setRequests(3)
                              .setUnit(io.signalbox.registry.v1.RateLimitPolicy.Unit.MINUTE))
                      .build())
              // Counted by the control plane's rate-limit service, which users' sidecar asks.
              .route(
                  io.signalbox.registry.v1.Route.newBuilder()
                      .setPath(io.signalbox.registry.v1.PathMatch.newBuilder().setPrefix("/fleet"))
                      .setRateLimit(
                          io.signalbox.registry.v1.RateLimitPolicy.newBuilder()
                              .setRequests(2)
                              .setUnit(io.signalbox.registry.v1.RateLimitPolicy.Unit.MINUTE)
                              .setScope(io.signalbox.registry.v1.RateLimitPolicy.Scope.GLOBAL))
                      .build())
              .build());
      gateway.serve("orders", "orders-1", Routes.prefix("/orders"));
      EnvoyProcess usersSidecar = gateway.startSidecar("users");
      EnvoyProcess ordersSidecar = gateway.startSidecar("orders");
      usersSidecar.awaitReady();
      ordersSidecar.awaitReady();
      String bearer = "authorization: Bearer " + tokens.sign(Map.of("sub", "alice"));

      assertThat(
              Awaitility.await()
                  .atMost(REACHES_ENVOY)
                  .ignoreExceptions()
                  .until(
                      () -> call(ordersOutbound, "users", "/users/1").status(),
                      status -> status == 401 || status == 200))
          .as("orders calls users without a token: users' sidecar asks for one")
          .isEqualTo(401);
      Http1ResponseReader.Read withToken =
          call(ordersOutbound, "users", "/users/1", bearer, "x-user-id: mallory");
      assertThat(withToken.status()).isEqualTo(200);
      assertThat(withToken.body())
          .as("the verified subject, never what the caller sent")
          .contains("\"x-user-id\":\"alice\"")
          .doesNotContain("mallory");

      HttpProbe.awaitStatus(gateway.url("/users/1"), 401, REACHES_ENVOY);
      assertThat(call(gateway.gatewayPort(), "example.com", "/users/2", bearer).status())
          .as("the edge forwards the token to users' sidecar, which verifies it")
          .isEqualTo(200);
      // Envoy counts a request no requirement applies to as allowed: the edge's 401 above came from
      // users' sidecar, not from a verification at the edge.
      assertThat(gateway.envoy().statValue("http.http.jwt_authn.denied"))
          .as("the edge refused no token for /users")
          .isZero();
      assertThat(
              usersSidecar.statValue("http.sidecar-inbound-" + usersInbound + ".jwt_authn.allowed"))
          .as("users' sidecar verified the token of orders and the one the edge passed on")
          .isEqualTo(2);

      assertThat(call(ordersOutbound, "users", "/users/3", bearer).status()).isEqualTo(200);
      assertThat(call(ordersOutbound, "users", "/users/4", bearer).status())
          .as("the fourth request this minute, counted by users' sidecar whoever sent it")
          .isEqualTo(429);
      assertThat(call(ordersOutbound, "users", "/fleet/1").status()).isEqualTo(200);
      assertThat(call(gateway.gatewayPort(), "example.com", "/fleet/2").status()).isEqualTo(200);
      assertThat(call(ordersOutbound, "users", "/fleet/3").status())
          .as("a global limit of 2 a minute, counted for mesh and edge callers together")
          .isEqualTo(429);
      assertThat(call(ordersOutbound, "users", "/health").status())
          .as("a path outside users' routes reaches the application (its callers aside)")
          .isEqualTo(200);
    }
  }

  /**
   * An instance outside the mesh joins a service whose sidecars enforce its JWT requirement, and
   * leaves again: the policy moves to the edge and back (PolicyHandover). Throughout, a request
   * without a token is never answered 200, not even over a connection the edge opened to users'
   * sidecar before the move (the sidecar's inbound routes travel by RDS, so a move changes no
   * listener), and one with a valid token is never refused, though the edge strips verified tokens
   * by default and the sidecar verifies them again while both enforce.
   */
  @Test
  void policiesMoveBetweenTheSidecarsAndTheEdgeWithoutAnUncheckedRequest() throws Exception {
    String issuer = "https://issuer.test/";
    TestTokens tokens = TestTokens.rs256(issuer, "handover-1");
    try (GatewayFixture gateway =
        GatewayFixture.startWithSidecars(
            new SidecarSettings("127.0.0.1", FreePorts.allocate()),
            settings -> settings.jwtProvider(corp(issuer, tokens)))) {
      io.signalbox.registry.v1.Route protectedUsers =
          io.signalbox.registry.v1.Route.newBuilder()
              .setPath(io.signalbox.registry.v1.PathMatch.newBuilder().setPrefix("/users"))
              .setAuth(io.signalbox.registry.v1.AuthPolicy.newBuilder().setProvider("corp"))
              .build();
      EchoService insideApp = gateway.backend("users", "users-1");
      int usersInbound = FreePorts.allocate();
      gateway.register(
          ServiceRegistration.builder("users")
              .instance("users-1", "127.0.0.1", usersInbound)
              .applicationPort(insideApp.port())
              .route(protectedUsers)
              .build());
      EnvoyProcess usersSidecar = gateway.startSidecar("users");
      usersSidecar.awaitReady();
      String deniedAtTheSidecar = "http.sidecar-inbound-" + usersInbound + ".jwt_authn.denied";
      String bearer = "authorization: Bearer " + tokens.sign(Map.of("sub", "alice"));
      HttpProbe.awaitStatus(gateway.url("/users/1"), 401, REACHES_ENVOY);
      Awaitility.await()
          .atMost(REACHES_ENVOY)
          .until(
              () -> call(gateway.gatewayPort(), "example.com", "/users/1", bearer).status() == 200);
      assertThat(gateway.envoy().statValue("http.http.jwt_authn.denied"))
          .as("before: users' sidecar refuses, the edge only forwards")
          .isZero();

      java.util.concurrent.atomic.AtomicBoolean calling =
          new java.util.concurrent.atomic.AtomicBoolean(true);
      java.util.List<Integer> withoutToken =
          java.util.Collections.synchronizedList(new java.util.ArrayList<>());
      java.util.List<Integer> withToken =
          java.util.Collections.synchronizedList(new java.util.ArrayList<>());
      Thread caller =
          new Thread(
              () -> {
                while (calling.get()) {
                  try {
                    withoutToken.add(
                        call(gateway.gatewayPort(), "example.com", "/users/1").status());
                    withToken.add(
                        call(gateway.gatewayPort(), "example.com", "/users/1", bearer).status());
                  } catch (IOException e) {
                    withoutToken.add(-1);
                  }
                }
              });
      caller.start();
      try {
        EchoService outsideApp = gateway.backend("users", "users-2");
        io.signalbox.client.Registration outside =
            gateway.register(
                ServiceRegistration.builder("users")
                    .instance("users-2", "127.0.0.1", outsideApp.port())
                    .route(protectedUsers)
                    .build());
        Awaitility.await()
            .atMost(REACHES_ENVOY)
            .until(() -> gateway.envoy().statValue("http.http.jwt_authn.denied") > 0);
        Awaitility.await()
            .atMost(REACHES_ENVOY)
            .until(
                () ->
                    answersFrom(
                        gateway.gatewayPort(), "example.com", "/users/1", "users-2", bearer));
        long deniedBySidecarMeanwhile = usersSidecar.statValue(deniedAtTheSidecar);
        outside.close();
        // The policy is back at users' sidecar, which refuses the tokenless requests again.
        Awaitility.await()
            .atMost(REACHES_ENVOY)
            .until(() -> usersSidecar.statValue(deniedAtTheSidecar) > deniedBySidecarMeanwhile);
      } finally {
        calling.set(false);
        caller.join();
      }
      assertThat(withoutToken).as("requests without a token").isNotEmpty().doesNotContain(200);
      assertThat(withToken).as("requests with a valid token").isNotEmpty().containsOnly(200);
    }
  }

  @Test
  void aServiceWithIpv4AndIpv6InstancesIsServedOnBothAddressesByOneInboundListener()
      throws Exception {
    int ordersOutbound = FreePorts.allocate();
    try (GatewayFixture gateway =
        GatewayFixture.startWithSidecars(
            new SidecarSettings(
                "127.0.0.1",
                ordersOutbound,
                Duration.ofHours(1),
                Map.of("users", FreePorts.allocate())))) {
      EchoService usersApp = gateway.backend("users", "users-app");
      int usersInbound = FreePorts.allocate();
      // One sidecar snapshot for both: users-1 registers an IPv4 address and users-2 an IPv6 one,
      // on the same port (here one host and one sidecar; a sidecar on each host in production).
      gateway.register(users("users-1", usersInbound, usersApp.port()));
      gateway.register(
          ServiceRegistration.builder("users")
              .instance("users-2", "::1", usersInbound)
              .applicationPort(usersApp.port())
              .route(Routes.prefix("/users"))
              .allowedCaller("orders")
              .allowedCaller("spiffe://signalbox.local/envoy/edge")
              .build());
      gateway.serve("orders", "orders-1", Routes.prefix("/orders"));
      EnvoyProcess usersSidecar = gateway.startSidecar("users");
      EnvoyProcess ordersSidecar = gateway.startSidecar("orders");
      usersSidecar.awaitReady();
      ordersSidecar.awaitReady();
      Awaitility.await()
          .atMost(REACHES_ENVOY)
          .until(() -> answersFrom(ordersOutbound, "users", "users-app"));

      // Orders' sidecar balances over both addresses, and each is served.
      assertThat(onlyFrom(ordersOutbound, "users", 40, Set.of("users-app"))).isTrue();
      assertThat(ordersSidecar.statValue("cluster.svc-users.upstream_cx_connect_fail"))
          .as("no connection to either address was refused")
          .isZero();
      try (java.net.Socket ipv6 = new java.net.Socket("::1", usersInbound);
          java.net.Socket ipv4 = new java.net.Socket("127.0.0.1", usersInbound)) {
        assertThat(ipv6.isConnected() && ipv4.isConnected()).isTrue();
      }
    }
  }
}
