package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.StreamObserver;
import io.signalbox.ca.CertificateUsage;
import io.signalbox.ca.IssuedCertificate;
import io.signalbox.client.RateLimitSpec;
import io.signalbox.client.RegistrationListener;
import io.signalbox.client.RegistryClient;
import io.signalbox.client.Routes;
import io.signalbox.client.ServiceRegistration;
import io.signalbox.config.GatewaySettings;
import io.signalbox.registry.v1.Instance;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.RegistryGrpc;
import io.signalbox.registry.v1.Route;
import io.signalbox.samples.EchoService;
import io.signalbox.security.AccessPolicy;
import io.signalbox.security.AccessPolicy.RegistrantRule;
import io.signalbox.security.IdentityPattern;
import io.signalbox.security.TransportSecurity;
import io.signalbox.server.ControlPlane;
import io.signalbox.server.ControlPlaneConfig;
import io.signalbox.testing.Closer;
import io.signalbox.testing.EnvoyBootstrap;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.FakeAdsClient;
import io.signalbox.testing.FreePorts;
import io.signalbox.testing.HttpProbe;
import io.signalbox.testing.LoopbackUpstreams;
import io.signalbox.testing.TestCertificates;
import io.signalbox.translate.XdsNames;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.Socket;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutual TLS between the control plane and everything that talks to it, with a real Envoy: a
 * control plane started with {@link TransportSecurity#mutualTls}, an Envoy whose bootstrap presents
 * the certificate of {@code spiffe://signalbox.local/envoy/edge}, and a service registering over
 * TLS as {@code spiffe://signalbox.local/service/orders}. Callers without a certificate get nothing
 * (neither the registry nor xDS secrets); a certificate only lets its identity register its own
 * service; and replacing the server's certificate files rotates the certificate for new connections
 * while Envoy keeps serving.
 *
 * <p>A test CA issues every certificate, with serial numbers the test chooses, so a client can tell
 * which server certificate it was shown.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(EnvoyLogsOnFailure.class)
class MutualTlsEndToEndTest {

  private static final String TRUST_DOMAIN = "spiffe://signalbox.local";
  private static final String ORDERS_IDENTITY = TRUST_DOMAIN + "/service/orders";
  private static final String ENVOY_IDENTITY = TRUST_DOMAIN + "/envoy/edge";
  private static final String SERVER_NAME = "localhost";
  private static final Duration PROPAGATION = Duration.ofSeconds(15);
  private static final Duration FAILURE_WITHIN = Duration.ofSeconds(10);

  /** The reload interval is 1 s; a few of them, for a loaded machine. */
  private static final Duration ROTATION_WITHIN = Duration.ofSeconds(10);

  private final AtomicLong serials = new AtomicLong(100);
  private final TestCertificates.Authority authority =
      TestCertificates.authority("Signalbox mTLS test CA");
  private final Closer owned = new Closer();

  private Path caFile;
  private Path serverCertificateFile;
  private Path serverKeyFile;
  private Path ordersCertificateFile;
  private Path ordersKeyFile;
  private ControlPlane controlPlane;
  private EnvoyProcess envoy;
  private int gatewayPort;

  @BeforeAll
  void startControlPlaneEnvoyAndOrders(@TempDir Path pki) throws IOException {
    caFile = pki.resolve("ca.pem");
    TestCertificates.replace(caFile, authority.certificatePem());

    serverCertificateFile = pki.resolve("server.pem");
    serverKeyFile = pki.resolve("server-key.pem");
    serverCertificate().writeTo(serverCertificateFile, serverKeyFile);

    Path envoyCertificateFile = pki.resolve("envoy.pem");
    Path envoyKeyFile = pki.resolve("envoy-key.pem");
    clientCertificate("edge-envoy", ENVOY_IDENTITY).writeTo(envoyCertificateFile, envoyKeyFile);

    ordersCertificateFile = pki.resolve("orders.pem");
    ordersKeyFile = pki.resolve("orders-key.pem");
    clientCertificate("orders", ORDERS_IDENTITY).writeTo(ordersCertificateFile, ordersKeyFile);

    gatewayPort = FreePorts.allocate();
    controlPlane =
        ControlPlane.start(
            ControlPlaneConfig.builder()
                .transport(
                    TransportSecurity.mutualTls(serverCertificateFile, serverKeyFile, caFile))
                .grpcAddress("127.0.0.1")
                .grpcPort(0)
                .gateway(
                    LoopbackUpstreams.allowedIn(
                        GatewaySettings.plaintext("127.0.0.1", gatewayPort)))
                .build());
    owned.add(controlPlane);

    envoy =
        EnvoyProcess.builder()
            .nodeId("edge-mtls-1")
            .nodeCluster("edge")
            .xdsPort(controlPlane.grpcPort())
            .xdsTls(
                new EnvoyBootstrap.XdsTls(envoyCertificateFile, envoyKeyFile, caFile, SERVER_NAME))
            .start();
    owned.add(envoy);
    // Ready only once LDS and CDS arrived over the mutual TLS stream, so every test finds the
    // gateway listener.
    envoy.awaitReady();

    EchoService orders = EchoService.start("orders", "orders-1", "127.0.0.1", 0);
    owned.add(orders);
    // Through the SDK's own mutual TLS (certificate files, host-name check), as a service does.
    RegistryClient ordersClient =
        RegistryClient.builder()
            .target("127.0.0.1:" + controlPlane.grpcPort())
            .mutualTls(ordersCertificateFile, ordersKeyFile, caFile)
            .shutdownHook(false)
            .build();
    owned.add(ordersClient::close);
    owned.add(
        ordersClient.register(
            ServiceRegistration.builder("orders")
                .instance("orders-1", "127.0.0.1", orders.port())
                .route(Routes.prefix("/orders"))
                .route(
                    Routes.prefix("/orders/limited")
                        .rateLimit(RateLimitSpec.perMinute(2).global().failClosed()))
                .build()));
  }

  @AfterAll
  void stopEverything() {
    owned.close();
  }

  @Test
  void anEnvoyWithAClientCertificateServesAServiceRegisteredOverMutualTls() {
    HttpProbe.Response response = HttpProbe.awaitStatus(url("/orders/hello"), 200, PROPAGATION);

    assertThat(response.body())
        .contains("\"service\":\"orders\"")
        .contains("\"path\":\"/orders/hello\"");
    assertThat(envoy.statValue("cluster." + XdsNames.CONTROL_PLANE_CLUSTER + ".ssl.handshake"))
        .as("Envoy reached the control plane over TLS")
        .isPositive();
  }

  @Test
  void anEnvoyAsksTheRateLimitServiceAsAnEnvoyOverMutualTls() {
    // Fail-closed: were Envoy's identity refused by the rate-limit service, these would be 500s
    // and no 429 would ever come.
    List<Integer> statuses = new CopyOnWriteArrayList<>();
    await()
        .atMost(PROPAGATION)
        .until(
            () -> {
              int status = HttpProbe.get(url("/orders/limited")).status();
              statuses.add(status);
              return status == 429;
            });

    assertThat(statuses).doesNotContain(500).contains(200);
  }

  @Test
  void aRegistryClientWithoutACertificateIsRefusedAndRegistersNothing() {
    ChannelCredentials noCertificate = caOnly().build();

    StatusRuntimeException refused = registerFails(noCertificate, registration("payments", 8080));

    assertThat(refused.getStatus().getCode())
        .isIn(Status.Code.UNAVAILABLE, Status.Code.UNAUTHENTICATED);
    assertNeverPublished("payments");
  }

  @Test
  void aPlaintextRegistryClientIsRefusedAndRegistersNothing() {
    StatusRuntimeException refused =
        registerFails(InsecureChannelCredentials.create(), registration("inventory", 8080));

    assertThat(refused.getStatus().getCode())
        .isIn(Status.Code.UNAVAILABLE, Status.Code.UNAUTHENTICATED);
    assertNeverPublished("inventory");
  }

  @Test
  void anAdsClientWithoutACertificateGetsNoSecret() {
    for (ChannelCredentials credentials :
        List.of(caOnly().build(), InsecureChannelCredentials.create())) {
      ManagedChannel channel = channel(credentials);
      List<DiscoveryResponse> responses = new CopyOnWriteArrayList<>();
      CompletableFuture<Throwable> failure = new CompletableFuture<>();
      StreamObserver<DiscoveryRequest> requests =
          AggregatedDiscoveryServiceGrpc.newStub(channel)
              .streamAggregatedResources(
                  new StreamObserver<>() {
                    @Override
                    public void onNext(DiscoveryResponse response) {
                      responses.add(response);
                    }

                    @Override
                    public void onError(Throwable error) {
                      failure.complete(error);
                    }

                    @Override
                    public void onCompleted() {
                      failure.complete(new AssertionError("the stream was completed normally"));
                    }
                  });
      requests.onNext(
          DiscoveryRequest.newBuilder()
              .setNode(FakeAdsClient.node("intruder-1", "edge"))
              .setTypeUrl(Resources.V3.SECRET_TYPE_URL)
              .build());

      Throwable error = failure.orTimeout(FAILURE_WITHIN.toMillis(), TimeUnit.MILLISECONDS).join();

      assertThat(Status.fromThrowable(error).getCode())
          .as("ADS over %s", credentials)
          .isIn(Status.Code.UNAVAILABLE, Status.Code.UNAUTHENTICATED);
      assertThat(responses).as("responses over %s", credentials).isEmpty();
    }
  }

  @Test
  void aServiceIdentityMayNotRegisterAnotherService() {
    StatusRuntimeException refused =
        registerFails(ordersCredentials().build(), registration("users", 8080));

    assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(refused.getStatus().getDescription()).contains(ORDERS_IDENTITY).contains("'users'");
    assertNeverPublished("users");
  }

  @Test
  void anIdentityTheOperatorNoLongerAllowsToRegisterAServiceLosesItsLeaseAndItsRoutes(
      @TempDir Path keys) {
    GatewaySettings before = controlPlane.publisher().settings();
    String shopIdentity = TRUST_DOMAIN + "/team/shop/ci";
    AccessPolicy shopMayRegisterCatalog =
        new AccessPolicy(
            before.access().trustDomain(),
            List.of(new RegistrantRule(new IdentityPattern(shopIdentity), Set.of("catalog"))),
            before.access().grants(),
            before.access().envoys(),
            before.access().operators());
    controlPlane.updateSettings(before.toBuilder().access(shopMayRegisterCatalog).build());
    clientCertificate("shop-ci", shopIdentity)
        .writeTo(keys.resolve("shop.pem"), keys.resolve("shop-key.pem"));
    EchoService catalog = EchoService.start("catalog", "catalog-1", "127.0.0.1", 0);
    owned.add(catalog);
    RegistryClient shopClient =
        RegistryClient.builder()
            .target("127.0.0.1:" + controlPlane.grpcPort())
            .mutualTls(keys.resolve("shop.pem"), keys.resolve("shop-key.pem"), caFile)
            .shutdownHook(false)
            .build();
    owned.add(shopClient::close);
    List<Status> reregistrationFailures = new CopyOnWriteArrayList<>();
    owned.add(
        shopClient.register(
            ServiceRegistration.builder("catalog")
                .instance("catalog-1", "127.0.0.1", catalog.port())
                .route(Routes.prefix("/catalog"))
                .build(),
            new RegistrationListener() {
              @Override
              public void onReregistrationFailed(Status status) {
                reregistrationFailures.add(status);
              }
            }));
    HttpProbe.awaitStatus(url("/catalog/items"), 200, PROPAGATION);

    // The operator takes the rule back: the lease it admitted goes at once, not at its end.
    controlPlane.updateSettings(before);

    HttpProbe.awaitStatus(url("/catalog/items"), 404, PROPAGATION);
    assertThat(controlPlane.metrics().scrape()).contains("signalbox_leases_revoked_total 1.0");
    // The client registers again on its next keep-alive, and is told why it may not.
    await().atMost(PROPAGATION).until(() -> !reregistrationFailures.isEmpty());
    assertThat(reregistrationFailures.get(0).getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(reregistrationFailures.get(0).getDescription())
        .contains("identity '" + shopIdentity + "' may not register service 'catalog'");
    assertThat(HttpProbe.get(url("/orders/still-served")).status())
        .as("a lease the policy still admits")
        .isEqualTo(200);
  }

  @Test
  void
      replacingTheServerCertificateFilesServesTheNewCertificateToNewConnectionsWhileEnvoyKeepsServing()
          throws IOException {
    HttpProbe.awaitStatus(url("/orders/before-rotation"), 200, PROPAGATION);
    BigInteger before = serialOfANewConnection();
    IssuedCertificate rotated = serverCertificate();
    assertThat(rotated.serial()).isNotEqualTo(before);

    rotated.writeTo(serverCertificateFile, serverKeyFile);

    await("a new connection to be shown serial " + rotated.serial())
        .atMost(ROTATION_WITHIN)
        .pollInterval(Duration.ofMillis(200))
        .untilAsserted(() -> assertThat(serialOfANewConnection()).isEqualTo(rotated.serial()));
    assertThat(HttpProbe.get(url("/orders/after-rotation")).status()).isEqualTo(200);
    assertThat(envoy.isAlive()).isTrue();
  }

  // --- helpers ---

  private IssuedCertificate serverCertificate() {
    return authority.issue(
        BigInteger.valueOf(serials.incrementAndGet()),
        "CN=" + SERVER_NAME,
        List.of(CertificateUsage.SERVER),
        SERVER_NAME,
        "127.0.0.1");
  }

  private IssuedCertificate clientCertificate(String commonName, String spiffeId) {
    return authority.issue(
        BigInteger.valueOf(serials.incrementAndGet()),
        "CN=" + commonName,
        List.of(CertificateUsage.CLIENT),
        spiffeId);
  }

  private TlsChannelCredentials.Builder caOnly() {
    try {
      return TlsChannelCredentials.newBuilder().trustManager(caFile.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private TlsChannelCredentials.Builder ordersCredentials() {
    try {
      return caOnly().keyManager(ordersCertificateFile.toFile(), ordersKeyFile.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private ManagedChannel channel(ChannelCredentials credentials) {
    ManagedChannel channel =
        Grpc.newChannelBuilderForAddress("127.0.0.1", controlPlane.grpcPort(), credentials).build();
    owned.add(channel::shutdownNow);
    return channel;
  }

  private StatusRuntimeException registerFails(
      ChannelCredentials credentials, RegisterRequest request) {
    RegistryGrpc.RegistryBlockingStub stub =
        RegistryGrpc.newBlockingStub(channel(credentials))
            .withDeadlineAfter(FAILURE_WITHIN.toMillis(), TimeUnit.MILLISECONDS);
    StatusRuntimeException refused =
        catchThrowableOfType(StatusRuntimeException.class, () -> stub.register(request));
    assertThat(refused).as("Register(%s) was refused", request.getService()).isNotNull();
    return refused;
  }

  private void assertNeverPublished(String service) {
    String cluster = XdsNames.serviceCluster(service);
    await("no cluster " + cluster + " to be published")
        .during(Duration.ofSeconds(1))
        .atMost(Duration.ofSeconds(3))
        .until(
            () ->
                controlPlane.publisher().current() == null
                    || !controlPlane
                        .publisher()
                        .current()
                        .clusters()
                        .resources()
                        .containsKey(cluster));
    assertThat(HttpProbe.get(url("/" + service + "/x")).status()).isEqualTo(404);
  }

  private static RegisterRequest registration(String service, int port) {
    return RegisterRequest.newBuilder()
        .setService(service)
        .setInstance(Instance.newBuilder().setId(service + "-1").setHost("127.0.0.1").setPort(port))
        .addRoutes(Route.newBuilder().setPath(PathMatch.newBuilder().setPrefix("/" + service)))
        .setLeaseTtl(com.google.protobuf.Duration.newBuilder().setSeconds(60))
        .build();
  }

  /**
   * The serial number of the certificate the control plane presents to a new connection,
   * authenticated as orders (the call itself, a registration orders may not make, changes nothing).
   */
  private BigInteger serialOfANewConnection() {
    CapturingTrustManager trust = new CapturingTrustManager(caTrustManager());
    ManagedChannel channel =
        Grpc.newChannelBuilderForAddress(
                "127.0.0.1",
                controlPlane.grpcPort(),
                ordersCredentials().trustManager(trust).build())
            .build();
    try {
      StatusRuntimeException refused =
          catchThrowableOfType(
              StatusRuntimeException.class,
              () ->
                  RegistryGrpc.newBlockingStub(channel)
                      .withDeadlineAfter(5, TimeUnit.SECONDS)
                      .register(registration("users", 8080)));
      assertThat(refused).isNotNull();
      assertThat(refused.getStatus().getCode())
          .as("the call got through TLS")
          .isEqualTo(Status.Code.PERMISSION_DENIED);
      X509Certificate seen = trust.serverCertificate.get();
      assertThat(seen).isNotNull();
      return seen.getSerialNumber();
    } finally {
      channel.shutdownNow();
    }
  }

  private X509ExtendedTrustManager caTrustManager() {
    try {
      KeyStore trusted = KeyStore.getInstance(KeyStore.getDefaultType());
      trusted.load(null, null);
      trusted.setCertificateEntry("test-ca", authority.certificate());
      TrustManagerFactory factory =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factory.init(trusted);
      return (X509ExtendedTrustManager) factory.getTrustManagers()[0];
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("cannot trust the test CA", e);
    }
  }

  private String url(String path) {
    return "http://127.0.0.1:" + gatewayPort + path;
  }

  /** Trusts what the CA trusts, and remembers the server certificate it was shown. */
  private static final class CapturingTrustManager extends X509ExtendedTrustManager {
    private final X509ExtendedTrustManager delegate;
    final AtomicReference<X509Certificate> serverCertificate = new AtomicReference<>();

    CapturingTrustManager(X509ExtendedTrustManager delegate) {
      this.delegate = delegate;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      delegate.checkServerTrusted(chain, authType, socket);
      serverCertificate.set(chain[0]);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      delegate.checkServerTrusted(chain, authType, engine);
      serverCertificate.set(chain[0]);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      delegate.checkServerTrusted(chain, authType);
      serverCertificate.set(chain[0]);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      delegate.checkClientTrusted(chain, authType, socket);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      delegate.checkClientTrusted(chain, authType, engine);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      delegate.checkClientTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return delegate.getAcceptedIssuers();
    }
  }
}
