package io.signalbox.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class RegistryClientTest {

  private static final Duration TTL = Duration.ofMillis(300);
  private static final Duration PATIENCE = Duration.ofSeconds(5);

  private final String serverName = InProcessServerBuilder.generateName();
  private FakeRegistry registry = new FakeRegistry();
  private Server server;
  private ManagedChannel channel;
  private RegistryClient client;

  @BeforeEach
  void startControlPlaneAndClient() throws IOException {
    server = serve(registry);
    channel = InProcessChannelBuilder.forName(serverName).build();
    client = RegistryClient.builder().channel(channel).build();
  }

  @AfterEach
  void stopEverything() {
    client.close();
    channel.shutdownNow();
    server.shutdownNow();
  }

  @Test
  void registerReturnsTheLeaseTheControlPlaneGranted() {
    Registration registration = client.register(orders("orders-1"));

    assertThat(registration.leaseId()).isNotBlank();
    assertThat(registration.ttl()).isEqualTo(TTL);
    assertThat(registry.isLive(registration.leaseId())).isTrue();
    assertThat(registry.registerCalls()).containsExactly(orders("orders-1").toRequest());
  }

  @Test
  void keepAlivesCarryTheLeaseAboutThreeTimesPerTtl() {
    Registration registration = client.register(orders("orders-1"));

    await()
        .atMost(PATIENCE)
        .until(() -> registry.keepAlivesFor(registration.leaseId()).size() >= 9);

    // The median gap, not the mean: the keep-alives are sent at a fixed rate, so one that a busy
    // machine delays is followed by others sent sooner to catch up, which a mean over a few gaps
    // counts as a shorter interval; a wrong interval (a TTL, or half of one) moves the median too.
    List<Long> arrivals = registry.keepAlivesFor(registration.leaseId());
    List<Long> gapsMillis = new java.util.ArrayList<>();
    for (int i = 1; i < arrivals.size(); i++) {
      gapsMillis.add(TimeUnit.NANOSECONDS.toMillis(arrivals.get(i) - arrivals.get(i - 1)));
    }
    java.util.Collections.sort(gapsMillis);
    assertThat(gapsMillis.get(gapsMillis.size() / 2)).isBetween(80L, 130L);
    assertThat(registry.isLive(registration.leaseId())).as("lease outlived several TTLs").isTrue();
    assertThat(registry.registerCalls()).hasSize(1);
  }

  @Test
  void leaseIdsAreCredentialsAndNeverLoggedOnlyTheirFingerprints() {
    ch.qos.logback.classic.Logger sdk =
        (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("io.signalbox.client");
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> captured =
        new ch.qos.logback.core.read.ListAppender<>();
    captured.start();
    sdk.addAppender(captured);
    ch.qos.logback.classic.Level level = sdk.getLevel();
    sdk.setLevel(ch.qos.logback.classic.Level.DEBUG);
    List<String> leaseIds = new CopyOnWriteArrayList<>();
    try {
      Registration registration = client.register(orders("orders-1"));
      leaseIds.add(registration.leaseId());
      registry.forgetAllLeases();
      await().atMost(PATIENCE).until(() -> !registration.leaseId().equals(leaseIds.get(0)));
      leaseIds.add(registration.leaseId());
      registration.close();
    } finally {
      sdk.detachAppender(captured);
      sdk.setLevel(level);
    }

    List<String> lines =
        captured.list.stream()
            .map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage)
            .toList();
    assertThat(lines)
        .anySatisfy(line -> assertThat(line).contains("registered with lease sha256:"));
    for (String leaseId : leaseIds) {
      assertThat(lines).noneSatisfy(line -> assertThat(line).contains(leaseId));
    }
  }

  @Test
  void registersAgainByItselfWhenTheControlPlaneForgetsTheLease() {
    List<String> reregistrations = new CopyOnWriteArrayList<>();
    Registration registration =
        client.register(
            orders("orders-1"),
            new RegistrationListener() {
              @Override
              public void onReregistered(String previousLeaseId, String newLeaseId) {
                reregistrations.add(previousLeaseId + " -> " + newLeaseId);
              }
            });
    String firstLease = registration.leaseId();

    registry.forgetAllLeases();

    await().atMost(PATIENCE).until(() -> !registration.leaseId().equals(firstLease));
    assertThat(registry.isLive(registration.leaseId())).isTrue();
    assertThat(reregistrations).containsExactly(firstLease + " -> " + registration.leaseId());
    assertThat(registry.registerCalls()).hasSize(2);
  }

  @Test
  void reconnectsAndKeepsTheSameLeaseWhenTheStreamBreaks() {
    Registration registration = client.register(orders("orders-1"));
    String lease = registration.leaseId();
    await().atMost(PATIENCE).until(() -> registry.openStreams() == 1);

    registry.breakAllStreams();
    int keepAlivesBeforeBreak = registry.keepAlivesFor(lease).size();

    await()
        .atMost(PATIENCE)
        .until(
            () ->
                registry.openStreams() == 1
                    && registry.keepAlivesFor(lease).size() >= keepAlivesBeforeBreak + 3);
    assertThat(registration.leaseId()).isEqualTo(lease);
    assertThat(registry.isLive(lease)).isTrue();
    assertThat(registry.registerCalls()).hasSize(1);
  }

  @Test
  void reconnectsAndRegistersAgainAfterTheControlPlaneRestarts() throws Exception {
    Registration registration = client.register(orders("orders-1"));
    String leaseBeforeRestart = registration.leaseId();

    server.shutdownNow().awaitTermination();
    Thread.sleep(TTL.toMillis() * 2);
    FakeRegistry restarted = new FakeRegistry();
    server = serve(restarted);

    await().atMost(PATIENCE).until(() -> restarted.isRegistered("orders", "orders-1"));
    assertThat(registration.leaseId()).isNotEqualTo(leaseBeforeRestart);
    assertThat(restarted.isLive(registration.leaseId())).isTrue();
    await()
        .atMost(PATIENCE)
        .until(() -> restarted.keepAlivesFor(registration.leaseId()).size() >= 3);
  }

  @Test
  void aKeepAliveStreamThatFailsToOpenIsOpenedAgain() {
    java.util.concurrent.atomic.AtomicInteger refusals =
        new java.util.concurrent.atomic.AtomicInteger(2);
    ManagedChannel refusing =
        InProcessChannelBuilder.forName(serverName)
            .intercept(
                new io.grpc.ClientInterceptor() {
                  @Override
                  public <Q, A> io.grpc.ClientCall<Q, A> interceptCall(
                      io.grpc.MethodDescriptor<Q, A> method,
                      io.grpc.CallOptions options,
                      io.grpc.Channel next) {
                    if (method.getBareMethodName().equals("KeepAlive")
                        && refusals.getAndDecrement() > 0) {
                      throw new NullPointerException("'executor' must not be null.");
                    }
                    return next.newCall(method, options);
                  }
                })
            .build();
    try (RegistryClient refused =
        RegistryClient.builder()
            .channel(refusing)
            .reconnectBackoff(Duration.ofMillis(20), Duration.ofMillis(50))
            .build()) {
      Registration registration = refused.register(orders("orders-9"));

      await()
          .atMost(PATIENCE)
          .until(() -> registry.keepAlivesFor(registration.leaseId()).size() >= 3);
      assertThat(refusals.get()).isNegative();
    } finally {
      refusing.shutdownNow();
    }
  }

  @Test
  void registersAgainWhenNoKeepAliveIsAnsweredForAWholeTtl() {
    Registration registration = client.register(orders("orders-1"));
    String firstLease = registration.leaseId();

    registry.stopAnsweringKeepAlives();
    await().atMost(PATIENCE).until(() -> registry.registerCalls().size() >= 2);
    registry.answerKeepAlivesAgain();

    await()
        .atMost(PATIENCE)
        .until(
            () ->
                registry.isLive(registration.leaseId())
                    && registry.keepAlivesFor(registration.leaseId()).size() >= 3);
    assertThat(registration.leaseId()).isNotEqualTo(firstLease);
  }

  @Test
  void closeDeregistersAndStopsKeepingAlive() {
    Registration registration = client.register(orders("orders-1"));
    String lease = registration.leaseId();

    registration.close();
    registration.close();

    assertThat(registration.isOpen()).isFalse();
    assertThat(registry.deregistered()).containsExactly(lease);
    assertThat(registry.isRegistered("orders", "orders-1")).isFalse();
    int keepAlivesAtClose = registry.keepAlivesFor(lease).size();
    await()
        .during(TTL.multipliedBy(2))
        .atMost(PATIENCE)
        .until(() -> registry.keepAlivesFor(lease).size() == keepAlivesAtClose);
    assertThat(registry.registerCalls()).hasSize(1);
  }

  @Test
  void closingTheClientDeregistersEveryRegistrationButLeavesABorrowedChannelOpen() {
    Registration first = client.register(orders("orders-1"));
    Registration second = client.register(orders("orders-2"));

    client.close();

    assertThat(registry.deregistered())
        .containsExactlyInAnyOrder(first.leaseId(), second.leaseId());
    assertThat(first.isOpen()).isFalse();
    assertThat(second.isOpen()).isFalse();
    assertThat(channel.isShutdown()).isFalse();
    assertThatThrownBy(() -> client.register(orders("orders-3")))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void theShutdownHookIsInstalledWhileTheClientIsOpenAndRemovedOnClose() {
    Thread hook = client.shutdownHook();
    assertThat(hook).isNotNull();
    assertThatThrownBy(() -> Runtime.getRuntime().addShutdownHook(hook))
        .as("already registered with the JVM")
        .isInstanceOf(IllegalArgumentException.class);

    client.close();

    assertThat(Runtime.getRuntime().removeShutdownHook(hook))
        .as("still registered after close")
        .isFalse();
  }

  @Test
  void theShutdownHookDeregistersOpenRegistrations() {
    Registration registration = client.register(orders("orders-1"));

    client.shutdownHook().run();

    assertThat(registry.deregistered()).containsExactly(registration.leaseId());
    assertThat(registration.isOpen()).isFalse();
  }

  @Test
  void theShutdownHookCanBeTurnedOff() {
    try (RegistryClient withoutHook =
        RegistryClient.builder().channel(channel).shutdownHook(false).build()) {
      assertThat(withoutHook.shutdownHook()).isNull();
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = Status.Code.class,
      names = {"INVALID_ARGUMENT", "ALREADY_EXISTS"})
  void aRejectedRegistrationIsThrownWithItsStatusAndNotRetried(Status.Code code) {
    registry.rejectRegistrationsWith(
        code.toStatus().withDescription("instance.port: must be 1-65535"));

    assertThatThrownBy(() -> client.register(orders("orders-1")))
        .isInstanceOfSatisfying(
            RegistrationException.class,
            e -> {
              assertThat(e.status().getCode()).isEqualTo(code);
              assertThat(e)
                  .hasMessageContaining("orders/orders-1")
                  .hasMessageContaining("instance.port");
            });
    assertThat(registry.registerCalls()).hasSize(1);
  }

  @Test
  void theFirstRegistrationWaitsForAControlPlaneThatStartsLater() throws Exception {
    server.shutdownNow().awaitTermination();

    CompletableFuture<Registration> registering =
        CompletableFuture.supplyAsync(() -> client.register(orders("orders-1")));
    Thread.sleep(500);
    assertThat(registering).isNotDone();
    FakeRegistry late = new FakeRegistry();
    server = serve(late);

    Registration registration = registering.get(PATIENCE.toMillis(), TimeUnit.MILLISECONDS);
    assertThat(late.isLive(registration.leaseId())).isTrue();
  }

  @Test
  void theFirstRegistrationGivesUpAfterTheRegistrationTimeout() throws Exception {
    server.shutdownNow().awaitTermination();
    try (RegistryClient impatient =
        RegistryClient.builder()
            .channel(channel)
            .registrationTimeout(Duration.ofMillis(500))
            .build()) {
      long start = System.nanoTime();

      assertThatThrownBy(() -> impatient.register(orders("orders-1")))
          .isInstanceOfSatisfying(
              RegistrationException.class,
              e -> assertThat(e.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .isBetween(Duration.ofMillis(300), PATIENCE);
    }
  }

  @Test
  void connectTalksPlaintextToAControlPlaneOverTcp() throws Exception {
    FakeRegistry overTcp = new FakeRegistry();
    Server tcpServer =
        Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
            .addService(overTcp)
            .build()
            .start();
    try (RegistryClient connected = RegistryClient.connect("127.0.0.1:" + tcpServer.getPort())) {
      Registration registration = connected.register(orders("orders-1"));

      await()
          .atMost(PATIENCE)
          .until(() -> overTcp.keepAlivesFor(registration.leaseId()).size() >= 2);
    } finally {
      tcpServer.shutdownNow();
    }
    assertThat(overTcp.deregistered()).hasSize(1);
  }

  private Server serve(FakeRegistry registry) throws IOException {
    return InProcessServerBuilder.forName(serverName).addService(registry).build().start();
  }

  private static ServiceRegistration orders(String instanceId) {
    return ServiceRegistration.builder("orders")
        .instance(instanceId, "10.0.0.7", 8080)
        .route(Routes.prefix("/orders"))
        .leaseTtl(TTL)
        .build();
  }
}
