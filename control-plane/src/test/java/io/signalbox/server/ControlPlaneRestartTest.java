package io.signalbox.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.signalbox.config.GatewaySettings;
import io.signalbox.registry.v1.DeregisterRequest;
import io.signalbox.registry.v1.Instance;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.RegisterResponse;
import io.signalbox.registry.v1.RegistryGrpc;
import io.signalbox.registry.v1.Route;
import io.signalbox.security.AccessPolicy;
import io.signalbox.store.MvStoreJournal;
import io.signalbox.store.StoreUnreadableException;
import io.signalbox.testing.LoopbackUpstreams;
import io.signalbox.testing.TestControlPlanes;
import io.signalbox.xds.SnapshotHistory;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * A control plane with a data directory comes back after a stop (which writes nothing, like a
 * crash) with every registration, publishes nothing before the store is loaded, and publishes the
 * same versions as before.
 */
class ControlPlaneRestartTest {

  @TempDir Path dataDirectory;

  private ControlPlane start() {
    return ControlPlane.start(
        TestControlPlanes.onLoopback()
            .dataDirectory(dataDirectory)
            .gateway(LoopbackUpstreams.allowedIn(GatewaySettings.DEFAULT))
            .build());
  }

  private ControlPlane start(GatewaySettings settings) {
    return ControlPlane.start(
        TestControlPlanes.onLoopback()
            .dataDirectory(dataDirectory)
            .gateway(LoopbackUpstreams.allowedIn(settings))
            .build());
  }

  private static GatewaySettings granting(String service, List<String> pathPrefixes) {
    return GatewaySettings.DEFAULT.toBuilder()
        .access(
            new AccessPolicy(
                AccessPolicy.DEFAULT_TRUST_DOMAIN,
                List.of(),
                AccessPolicy.grantsByService(
                    List.of(new AccessPolicy.ServiceGrant(service, List.of("*"), pathPrefixes))),
                List.of(),
                List.of()))
        .build();
  }

  private static <T> T withRegistry(
      ControlPlane controlPlane, Function<RegistryGrpc.RegistryBlockingStub, T> call) {
    ManagedChannel channel =
        NettyChannelBuilder.forAddress("127.0.0.1", controlPlane.grpcPort()).usePlaintext().build();
    try {
      return call.apply(
          RegistryGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS));
    } finally {
      channel.shutdownNow();
    }
  }

  private static RegisterRequest registration(String service, String instance, String prefix) {
    return RegisterRequest.newBuilder()
        .setService(service)
        .setInstance(Instance.newBuilder().setId(instance).setHost("127.0.0.1").setPort(8080))
        .addRoutes(Route.newBuilder().setPath(PathMatch.newBuilder().setPrefix(prefix)))
        .setLeaseTtl(com.google.protobuf.Duration.newBuilder().setSeconds(300))
        .build();
  }

  @Test
  void aRegistrationTheAccessPolicyNoLongerAdmitsAfterARestartIsGoneBeforeAnythingIsPublished() {
    try (ControlPlane before = start(granting("orders", List.of("/orders", "/legacy")))) {
      withRegistry(
          before, registry -> registry.register(registration("orders", "orders-1", "/legacy")));
      withRegistry(
          before, registry -> registry.register(registration("users", "users-1", "/users")));
    }

    // The operator took /legacy from orders' grant while the control plane was down.
    try (ControlPlane after = start(granting("orders", List.of("/orders")))) {
      await().atMost(Duration.ofSeconds(10)).until(() -> after.publisher().current() != null);
      List<SnapshotHistory.Entry> published = after.publisher().history().latest(100);
      assertThat(published).as("one snapshot: the first after the restart").hasSize(1);
      assertThat(after.publisher().current().clusters().resources())
          .containsOnlyKeys(io.signalbox.translate.XdsNames.serviceCluster("users"));
      assertThat(after.metrics().scrape()).contains("signalbox_leases_revoked_total 1.0");
    }
  }

  @Test
  void registrationsSurviveARestartAndTheFirstSnapshotAfterItIsTheLastOneBefore() {
    String lastVersionBefore;
    RegisterResponse orders;
    try (ControlPlane before = start()) {
      orders =
          withRegistry(
              before, registry -> registry.register(registration("orders", "orders-1", "/orders")));
      withRegistry(
          before, registry -> registry.register(registration("orders", "orders-2", "/orders")));
      withRegistry(
          before, registry -> registry.register(registration("users", "users-1", "/users")));
      RegisterResponse gone =
          withRegistry(
              before, registry -> registry.register(registration("gone", "gone-1", "/gone")));
      withRegistry(
          before,
          registry ->
              registry.deregister(
                  DeregisterRequest.newBuilder().setLeaseId(gone.getLeaseId()).build()));
      await()
          .atMost(Duration.ofSeconds(10))
          .until(
              () ->
                  !before.publisher().changesPending()
                      && before.publisher().current() != null
                      && before.publisher().current().resources().clusters().size() == 2);
      lastVersionBefore = before.publisher().current().version();
    }

    try (ControlPlane after = start()) {
      await().atMost(Duration.ofSeconds(10)).until(() -> after.publisher().current() != null);
      List<SnapshotHistory.Entry> published = after.publisher().history().latest(100);
      SnapshotHistory.Entry first = published.get(published.size() - 1);
      assertThat(first.initial()).isTrue();
      assertThat(first.version())
          .as(
              "the first snapshot after the restart holds the whole registry: nothing empty, nothing partial")
          .isEqualTo(lastVersionBefore);
      assertThat(after.publisher().current().version()).isEqualTo(lastVersionBefore);
      // The SDK's lease is still good: re-registering the same instance keeps its lease id.
      assertThat(
              withRegistry(
                      after,
                      registry -> registry.register(registration("orders", "orders-1", "/orders")))
                  .getLeaseId())
          .isEqualTo(orders.getLeaseId());
    }
  }

  @Test
  void aCorruptStoreStopsTheStartNamingTheFile() throws Exception {
    Path file = dataDirectory.resolve(MvStoreJournal.FILE_NAME);
    Files.write(file, "not an MVStore file at all".repeat(1000).getBytes(StandardCharsets.UTF_8));

    assertThatThrownBy(this::start)
        .isInstanceOf(StoreUnreadableException.class)
        .hasMessageContaining(file.toString());
  }

  @Test
  void signalboxExitsWithCode2OnACorruptStore() throws Exception {
    Path file = dataDirectory.resolve(MvStoreJournal.FILE_NAME);
    Files.write(file, "not an MVStore file at all".repeat(1000).getBytes(StandardCharsets.UTF_8));
    ByteArrayOutputStream errors = new ByteArrayOutputStream();
    PrintStream originalErr = System.err;
    int exitCode;
    System.setErr(new PrintStream(errors, true, StandardCharsets.UTF_8));
    try {
      exitCode =
          new CommandLine(new SignalboxMain())
              .execute(
                  "--insecure-plaintext",
                  "--grpc-address",
                  "127.0.0.1",
                  "--grpc-port",
                  "0",
                  "--data-dir",
                  dataDirectory.toString());
    } finally {
      System.setErr(originalErr);
    }

    assertThat(exitCode).isEqualTo(2);
    assertThat(errors.toString(StandardCharsets.UTF_8))
        .contains("cannot read the registry store " + file)
        .contains("Refusing to start with an empty registry");
    assertThat(Files.size(file)).as("the file is left as it was").isEqualTo(26_000);
  }
}
