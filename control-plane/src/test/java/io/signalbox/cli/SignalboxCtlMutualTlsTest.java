package io.signalbox.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.signalbox.ca.CertificateUsage;
import io.signalbox.config.GatewaySettings;
import io.signalbox.registry.v1.Instance;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.RegistryGrpc;
import io.signalbox.security.AccessPolicy;
import io.signalbox.security.AdminRole;
import io.signalbox.security.IdentityPattern;
import io.signalbox.security.TransportSecurity;
import io.signalbox.server.ControlPlane;
import io.signalbox.server.ControlPlaneConfig;
import io.signalbox.testing.FreePorts;
import io.signalbox.testing.SignalboxCtlRun;
import io.signalbox.testing.TestCertificates;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * signalboxctl against a control plane that runs mutual TLS, with admin roles from the access
 * policy.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SignalboxCtlMutualTlsTest {

  private static final String VIEWER = "spiffe://signalbox.local/operator/val";
  private static final String OPERATOR = "spiffe://signalbox.local/operator/olga";

  private Path dir;

  private final TestCertificates.Authority ca = TestCertificates.authority("Signalbox Test CA");
  private ControlPlane controlPlane;
  private Path caFile;
  private Path auditFile;

  @BeforeAll
  void start(@TempDir Path tempDir) throws IOException {
    dir = tempDir;
    caFile = Files.writeString(dir.resolve("ca.pem"), ca.certificatePem());
    Path serverCert = dir.resolve("server.pem");
    Path serverKey = dir.resolve("server-key.pem");
    ca.issue(
            BigInteger.TWO,
            "CN=signalbox",
            List.of(CertificateUsage.SERVER),
            "localhost",
            "127.0.0.1")
        .writeTo(serverCert, serverKey);
    auditFile = dir.resolve("audit.log");
    AccessPolicy access =
        new AccessPolicy(
            AccessPolicy.DEFAULT_TRUST_DOMAIN,
            List.of(
                new AccessPolicy.RegistrantRule(
                    new IdentityPattern("spiffe://signalbox.local/team/carts/*"),
                    java.util.Set.of("carts"))),
            new TreeMap<>(),
            List.of(),
            List.of(
                new AccessPolicy.OperatorRule(new IdentityPattern(VIEWER), AdminRole.VIEWER),
                new AccessPolicy.OperatorRule(new IdentityPattern(OPERATOR), AdminRole.OPERATOR)));
    controlPlane =
        ControlPlane.start(
            ControlPlaneConfig.builder()
                .transport(TransportSecurity.mutualTls(serverCert, serverKey, caFile))
                .auditLogFile(auditFile)
                .grpcAddress("127.0.0.1")
                .grpcPort(0)
                .adminPort(0)
                .gateway(
                    GatewaySettings.plaintext("127.0.0.1", FreePorts.allocate()).toBuilder()
                        .access(access)
                        .build())
                .build());
    register(client("spiffe://signalbox.local/service/orders", 3), "orders", "orders-1");
  }

  @AfterAll
  void stop() {
    controlPlane.close();
  }

  /** A client certificate naming {@code identity} as its URI SAN; returns {cert, key}. */
  private List<String> client(String identity, int serial) {
    Path cert = dir.resolve("client-" + serial + ".pem");
    Path key = dir.resolve("client-" + serial + "-key.pem");
    ca.issue(
            BigInteger.valueOf(serial),
            "CN=client-" + serial,
            List.of(CertificateUsage.CLIENT),
            identity)
        .writeTo(cert, key);
    return List.of(cert.toString(), key.toString());
  }

  private String register(List<String> certAndKey, String service, String instance)
      throws IOException {
    ManagedChannel channel = registryChannel(certAndKey);
    try {
      return RegistryGrpc.newBlockingStub(channel)
          .withDeadlineAfter(5, TimeUnit.SECONDS)
          .register(
              RegisterRequest.newBuilder()
                  .setService(service)
                  .setInstance(
                      Instance.newBuilder().setId(instance).setHost("10.0.0.7").setPort(8080))
                  .build())
          .getLeaseId();
    } finally {
      channel.shutdownNow();
    }
  }

  private ManagedChannel registryChannel(List<String> certAndKey) throws IOException {
    return NettyChannelBuilder.forAddress(
            "127.0.0.1",
            controlPlane.grpcPort(),
            TlsChannelCredentials.newBuilder()
                .keyManager(
                    Path.of(certAndKey.get(0)).toFile(), Path.of(certAndKey.get(1)).toFile())
                .trustManager(caFile.toFile())
                .build())
        .build();
  }

  @Test
  void onlyEnvoysMayAskTheRateLimitService() throws IOException {
    RateLimitRequest request =
        RateLimitRequest.newBuilder()
            .setDomain("signalbox")
            .addDescriptors(
                RateLimitDescriptor.newBuilder()
                    .addEntries(
                        RateLimitDescriptor.Entry.newBuilder()
                            .setKey("signalbox_limit")
                            .setValue("1/MINUTE"))
                    .addEntries(
                        RateLimitDescriptor.Entry.newBuilder()
                            .setKey("signalbox_route")
                            .setValue("orders")))
            .setHitsAddend(1_000_000)
            .build();
    ManagedChannel service = registryChannel(client("spiffe://signalbox.local/service/orders", 30));
    ManagedChannel envoy = registryChannel(client("spiffe://signalbox.local/envoy/edge", 31));
    try {
      assertThatThrownBy(
              () ->
                  RateLimitServiceGrpc.newBlockingStub(service)
                      .withDeadlineAfter(5, TimeUnit.SECONDS)
                      .shouldRateLimit(request))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
                assertThat(e.getStatus().getDescription())
                    .isEqualTo(
                        "identity 'spiffe://signalbox.local/service/orders' "
                            + "is not an Envoy and may not ask the rate-limit service");
              });
      assertThat(
              RateLimitServiceGrpc.newBlockingStub(envoy)
                  .withDeadlineAfter(5, TimeUnit.SECONDS)
                  .shouldRateLimit(request)
                  .getOverallCode())
          .isNotEqualTo(RateLimitResponse.Code.UNKNOWN);
    } finally {
      service.shutdownNow();
      envoy.shutdownNow();
    }
  }

  @Test
  void anotherIdentityAllowedForTheServiceCannotTakeRenewOrRemoveAnInstanceItDidNotRegister()
      throws IOException {
    List<String> owner = client("spiffe://signalbox.local/team/carts/deployer-a", 20);
    List<String> thief = client("spiffe://signalbox.local/team/carts/deployer-b", 21);
    String leaseId = register(owner, "carts", "carts-1");

    StatusRuntimeException taken = catchRegistryError(() -> register(thief, "carts", "carts-1"));
    assertThat(taken.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(taken.getStatus().getDescription())
        .isEqualTo("instance carts/carts-1 is registered by another identity")
        .doesNotContain(leaseId);

    ManagedChannel channel = registryChannel(thief);
    try {
      StatusRuntimeException removed =
          catchRegistryError(
              () ->
                  RegistryGrpc.newBlockingStub(channel)
                      .withDeadlineAfter(5, TimeUnit.SECONDS)
                      .deregister(
                          io.signalbox.registry.v1.DeregisterRequest.newBuilder()
                              .setLeaseId(leaseId)
                              .build()));
      assertThat(removed.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    } finally {
      channel.shutdownNow();
    }
    assertThat(register(owner, "carts", "carts-1"))
        .as("the owner keeps its lease")
        .isEqualTo(leaseId);
  }

  private interface RegistryCall {
    Object run() throws IOException;
  }

  private static StatusRuntimeException catchRegistryError(RegistryCall call) {
    try {
      call.run();
    } catch (StatusRuntimeException e) {
      return e;
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    throw new AssertionError("the call was not refused");
  }

  private SignalboxCtlRun ctl(List<String> certAndKey, String... args) {
    List<String> all =
        new ArrayList<>(
            List.of(
                "--cert",
                certAndKey.get(0),
                "--key",
                certAndKey.get(1),
                "--ca",
                caFile.toString()));
    all.addAll(List.of(args));
    return SignalboxCtlRun.against(controlPlane.adminPort(), all.toArray(String[]::new));
  }

  @Test
  void aViewerSeesTheServicesButCannotEvictAndAnOperatorCan() throws IOException {
    List<String> viewer = client(VIEWER, 10);
    List<String> operator = client(OPERATOR, 11);

    assertThat(ctl(viewer, "services").out()).contains("orders");
    SignalboxCtlRun refused = ctl(viewer, "evict", "orders");
    assertThat(refused.exitCode()).isEqualTo(SignalboxCtl.EXIT_SERVER_ERROR);
    assertThat(refused.err()).contains("PERMISSION_DENIED", VIEWER, "'operator'");
    assertThat(ctl(viewer, "services").out()).contains("orders");

    assertThat(ctl(operator, "evict", "orders").exitCode()).isEqualTo(SignalboxCtl.EXIT_OK);
    assertThat(ctl(viewer, "services").out()).doesNotContain("orders-1");

    List<String> audit = Files.readAllLines(auditFile);
    assertThat(audit)
        .anySatisfy(line -> assertThat(line).contains(VIEWER, "admin.Evict", "DENIED"));
    assertThat(audit)
        .anySatisfy(line -> assertThat(line).contains(OPERATOR, "admin.Evict", "\"OK\""));
    assertThat(audit)
        .anySatisfy(
            line ->
                assertThat(line)
                    .contains(
                        "spiffe://signalbox.local/service/orders",
                        "\"register\"",
                        "orders/orders-1",
                        "\"OK\""));
  }

  @Test
  void historyNamesTheIdentityThatCausedEachSnapshotChange() throws IOException {
    register(client("spiffe://signalbox.local/service/invoices", 14), "invoices", "invoices-1");
    List<String> operator = client(OPERATOR, 12);
    assertThat(ctl(operator, "evict", "invoices").exitCode()).isEqualTo(SignalboxCtl.EXIT_OK);

    await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(
            () ->
                assertThat(ctl(operator, "history").out())
                    .contains("invoices removed (evict by " + OPERATOR + ")")
                    .contains(
                        "invoices added (register by spiffe://signalbox.local/service/invoices)"));
  }

  @Test
  void withoutAClientCertificateTheAdminPortRefusesTheConnection() {
    SignalboxCtlRun run = SignalboxCtlRun.against(controlPlane.adminPort(), "services");

    assertThat(run.exitCode()).isEqualTo(SignalboxCtl.EXIT_UNREACHABLE);
  }

  @Test
  void anIdentityWithoutAnAdminRoleMayNotEvenRead() {
    SignalboxCtlRun run = ctl(client("spiffe://signalbox.local/service/orders", 12), "services");

    assertThat(run.exitCode()).isEqualTo(SignalboxCtl.EXIT_SERVER_ERROR);
    assertThat(run.err()).contains("PERMISSION_DENIED", "needs the admin role 'viewer'");
  }

  @Test
  void aServiceMayMirrorItsRequestsOnlyToAServiceItsIdentityMayRegister() throws IOException {
    ManagedChannel channel = registryChannel(client("spiffe://signalbox.local/service/orders", 15));
    try {
      StatusRuntimeException refused =
          catchRegistryError(
              () ->
                  RegistryGrpc.newBlockingStub(channel)
                      .withDeadlineAfter(5, TimeUnit.SECONDS)
                      .register(
                          RegisterRequest.newBuilder()
                              .setService("orders")
                              .setInstance(
                                  Instance.newBuilder()
                                      .setId("orders-9")
                                      .setHost("10.0.0.7")
                                      .setPort(8080))
                              .addRoutes(
                                  io.signalbox.registry.v1.Route.newBuilder()
                                      .setPath(
                                          io.signalbox.registry.v1.PathMatch.newBuilder()
                                              .setPrefix("/orders"))
                                      .setMirror(
                                          io.signalbox.registry.v1.Mirror.newBuilder()
                                              .setService("payments")
                                              .setPercent(100)))
                              .build()));

      assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(refused.getStatus().getDescription())
          .isEqualTo(
              "routes[0].mirror.service: identity 'spiffe://signalbox.local/service/orders' may"
                  + " not register service 'payments', so it may not mirror requests to it");
    } finally {
      channel.shutdownNow();
    }
  }

  @Test
  void aServiceIdentityMayRegisterOnlyItsOwnServiceAndAnotherIdentityCannotTakeItsInstance() {
    try {
      register(client("spiffe://signalbox.local/service/orders", 13), "users", "users-1");
      throw new AssertionError("registered a service of another identity");
    } catch (StatusRuntimeException e) {
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(e.getStatus().getDescription())
          .isEqualTo(
              "identity 'spiffe://signalbox.local/service/orders' may not register service 'users'");
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }
}
