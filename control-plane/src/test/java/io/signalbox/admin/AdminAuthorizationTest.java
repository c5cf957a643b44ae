package io.signalbox.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.signalbox.admin.v1.AdminGrpc;
import io.signalbox.admin.v1.EvictRequest;
import io.signalbox.admin.v1.EvictResponse;
import io.signalbox.admin.v1.ListServicesRequest;
import io.signalbox.admin.v1.ListServicesResponse;
import io.signalbox.security.AccessControl;
import io.signalbox.security.AccessPolicy;
import io.signalbox.security.AdminRole;
import io.signalbox.security.AuditLog;
import io.signalbox.security.IdentityPattern;
import io.signalbox.testing.HeaderIdentity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Admin roles, in front of a stand-in admin service. The caller's identity comes from a test header
 * here; on the real port {@link io.signalbox.security.IdentityInterceptor} reads it from the client
 * certificate.
 */
class AdminAuthorizationTest {

  private static final String VIEWER = "spiffe://signalbox.local/operator/val";
  private static final String OPERATOR = "spiffe://signalbox.local/operator/olga";

  @TempDir Path dir;

  private final AtomicInteger evictions = new AtomicInteger();
  private Server server;
  private ManagedChannel channel;
  private AuditLog audit;
  private Path auditFile;

  @BeforeEach
  void start() throws IOException {
    AccessPolicy policy =
        new AccessPolicy(
            "signalbox.local",
            List.of(),
            new TreeMap<>(),
            List.of(),
            List.of(
                new AccessPolicy.OperatorRule(new IdentityPattern(VIEWER), AdminRole.VIEWER),
                new AccessPolicy.OperatorRule(new IdentityPattern(OPERATOR), AdminRole.OPERATOR)));
    auditFile = dir.resolve("audit.log");
    audit = AuditLog.toFile(Clock.systemUTC(), auditFile);
    String name = InProcessServerBuilder.generateName();
    server =
        InProcessServerBuilder.forName(name)
            .addService(
                new AdminGrpc.AdminImplBase() {
                  @Override
                  public void listServices(
                      ListServicesRequest request, StreamObserver<ListServicesResponse> response) {
                    response.onNext(ListServicesResponse.getDefaultInstance());
                    response.onCompleted();
                  }

                  @Override
                  public void evict(EvictRequest request, StreamObserver<EvictResponse> response) {
                    evictions.incrementAndGet();
                    response.onNext(EvictResponse.getDefaultInstance());
                    response.onCompleted();
                  }
                })
            .intercept(new AdminAuthorization(AccessControl.enforcing(() -> policy), audit))
            .intercept(HeaderIdentity.interceptor())
            .build()
            .start();
    channel = InProcessChannelBuilder.forName(name).build();
  }

  @AfterEach
  void stop() {
    channel.shutdownNow();
    server.shutdownNow();
    audit.close();
  }

  private AdminGrpc.AdminBlockingStub as(String identity) {
    return HeaderIdentity.as(AdminGrpc.newBlockingStub(channel), identity);
  }

  @Test
  void aViewerMayReadButNotEvict() {
    assertThat(as(VIEWER).listServices(ListServicesRequest.getDefaultInstance())).isNotNull();

    assertThatThrownBy(
            () -> as(VIEWER).evict(EvictRequest.newBuilder().setService("orders").build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
              assertThat(e.getStatus().getDescription())
                  .isEqualTo(
                      "identity '"
                          + VIEWER
                          + "' needs the admin role "
                          + "'operator' for Evict (it has 'viewer')");
            });
    assertThat(evictions).hasValue(0);
  }

  @Test
  void anOperatorMayEvictAndAnIdentityWithoutARoleMayNotEvenRead() {
    as(OPERATOR).evict(EvictRequest.newBuilder().setService("orders").build());
    assertThat(evictions).hasValue(1);

    assertThatThrownBy(
            () ->
                as("spiffe://signalbox.local/service/orders")
                    .listServices(ListServicesRequest.getDefaultInstance()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
  }

  @Test
  void everyAdminCallIsAuditedWithItsCallerWhatItWasAboutAndItsOutcome() throws IOException {
    as(OPERATOR).evict(EvictRequest.newBuilder().setService("orders").build());
    try {
      as(VIEWER).evict(EvictRequest.newBuilder().setService("orders").build());
    } catch (StatusRuntimeException expected) {
      // audited below
    }

    List<String> lines = Files.readAllLines(auditFile);
    assertThat(lines).hasSize(2);
    assertThat(lines.get(0))
        .contains(
            "\"identity\":\"" + OPERATOR + "\"",
            "\"action\":\"admin.Evict\"",
            "\"target\":\"service: \\\"orders\\\"\"",
            "\"outcome\":\"OK\"");
    assertThat(lines.get(1))
        .contains(
            "\"identity\":\"" + VIEWER + "\"",
            "\"action\":\"admin.Evict\"",
            "\"outcome\":\"DENIED\"");
  }
}
