package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.signalbox.admin.v1.AdminGrpc;
import io.signalbox.admin.v1.GetServiceRequest;
import io.signalbox.admin.v1.ListServicesRequest;
import io.signalbox.admin.v1.PausePushesRequest;
import io.signalbox.admin.v1.RegistrationStatus;
import io.signalbox.admin.v1.ResumePushesRequest;
import io.signalbox.admin.v1.Service;
import io.signalbox.cli.SignalboxCtl;
import io.signalbox.client.Routes;
import io.signalbox.config.GatewayLimits;
import io.signalbox.config.SidecarSettings;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.FakeAdsClient;
import io.signalbox.testing.HttpProbe;
import io.signalbox.testing.SignalboxCtlRun;
import io.signalbox.xds.NackQuarantine;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A registration that passes Signalbox's validation but that Envoy rejects: a path regex whose RE2
 * program (size 300 and more) exceeds Envoy's default limit {@code
 * re2.max_program_size.error_level} of 100. All routes share one route configuration, so without
 * the quarantine Envoy would reject every later route change too. With it, the registration is
 * quarantined with Envoy's error and everything else keeps reaching Envoy.
 */
@ExtendWith(EnvoyLogsOnFailure.class)
class NackQuarantineEndToEndTest {

  /**
   * Passes RE2/J; behind "/reports" Envoy 1.40 says "RE2 program size of 313 > max program size of
   * 100".
   */
  private static final String TOO_LARGE = "/(ab|cd|ef|gh){30}";

  /**
   * Signalbox refuses a regex over Envoy's program-size limit at registration; an operator who
   * raised Signalbox's limit above Envoy's (limits.maxRegexProgramSize) lets such a regex reach
   * Envoy, which rejects it.
   */
  private static GatewayFixture startAllowingRegexesEnvoyRefuses(EnvoyProcess.XdsMode mode) {
    return GatewayFixture.startWithSettings(
        mode,
        settings ->
            settings.limits(
                new GatewayLimits(
                    GatewayLimits.DEFAULT.maxRoutesPerService(),
                    GatewayLimits.DEFAULT.maxRequestHeadersKb(),
                    GatewayLimits.DEFAULT.upstreamConnectTimeout(),
                    1_000,
                    GatewayLimits.DEFAULT.registry())));
  }

  private static final Duration REACHES_ENVOY = Duration.ofSeconds(15);

  @ParameterizedTest
  @EnumSource(EnvoyProcess.XdsMode.class)
  void aRegistrationEnvoyRejectsIsQuarantinedAndLaterRegistrationsStillReachEnvoy(
      EnvoyProcess.XdsMode mode) {
    try (GatewayFixture gateway = startAllowingRegexesEnvoyRefuses(mode);
        Admin admin = new Admin(gateway)) {
      for (String service : List.of("catalog", "orders", "users")) {
        gateway.serve(service, service + "-1", Routes.prefix("/" + service));
      }
      for (String service : List.of("catalog", "orders", "users")) {
        HttpProbe.awaitStatus(gateway.url("/" + service), 200, REACHES_ENVOY);
      }

      gateway.serve(
          "reports", "reports-1", Routes.prefix("/reports"), Routes.regex("/reports" + TOO_LARGE));

      await()
          .atMost(REACHES_ENVOY)
          .until(() -> admin.service("reports").getStatus() == RegistrationStatus.QUARANTINED);
      Service reports = admin.service("reports");
      assertThat(reports.getStatusReason())
          .startsWith("edge-1 (group edge) rejected routes: ")
          .containsPattern(
              "regex '/reports/\\(ab\\|cd\\|ef\\|gh\\)\\{30}' RE2 program size of \\d{3} > max program "
                  + "size of 100 set for the error level threshold");
      assertThat(reports.getInstancesList()).as("the registry keeps it").hasSize(1);
      assertThat(reports.getRoutesList()).hasSize(2);

      gateway.serve("billing", "billing-1", Routes.prefix("/billing"));
      HttpProbe.awaitStatus(gateway.url("/billing"), 200, REACHES_ENVOY);
      for (String service : List.of("catalog", "orders", "users")) {
        assertThat(HttpProbe.get(gateway.url("/" + service)).status()).as(service).isEqualTo(200);
      }
      assertThat(gateway.envoy().configDump()).doesNotContain("(ab|cd|ef|gh)");
      assertThat(gateway.controlPlane().publisher().quarantineTrials())
          .as("one candidate: no trial")
          .isZero();

      SignalboxCtlRun proxies = admin.ctl("proxies");
      assertThat(proxies.exitCode()).as(proxies.err()).isZero();
      assertThat(proxies.out())
          .containsPattern(
              "(?m)^edge-1 +edge +edge +1\\.40\\.0 +" + mode.name().toLowerCase() + " +SYNCED ");
      assertThat(proxies.out())
          .containsPattern(
              "(?m)^edge-1 rejected routes \\w+ .*, runs \\w+ now: .*regex "
                  + "'/reports.*' RE2 program size of \\d+ > max program size of 100");
      SignalboxCtlRun services = admin.ctl("services");
      assertThat(services.out()).containsPattern("(?m)^reports +QUARANTINED +reports-1 ");
      assertThat(services.out()).containsPattern("(?m)^billing +ACTIVE +billing-1 ");
      assertThat(services.out())
          .containsPattern(
              "(?m)^reports QUARANTINED since .* ago: edge-1 \\(group edge\\) "
                  + "rejected routes: .*RE2 program size of \\d+");

      // Released by an operator, it gets one more try: Envoy rejects it again, and it is
      // quarantined again.
      com.google.protobuf.Timestamp firstSince = reports.getStatusSince();
      assertThat(admin.ctl("release", "reports").exitCode()).isZero();
      await()
          .atMost(REACHES_ENVOY)
          .until(
              () -> {
                Service again = admin.service("reports");
                return again.getStatus() == RegistrationStatus.QUARANTINED
                    && com.google.protobuf.util.Timestamps.compare(
                            again.getStatusSince(), firstSince)
                        > 0;
              });
      assertThat(HttpProbe.get(gateway.url("/billing")).status()).isEqualTo(200);
      SignalboxCtlRun unknown = admin.ctl("release", "nope");
      assertThat(unknown.exitCode()).isEqualTo(SignalboxCtl.EXIT_SERVER_ERROR);
      assertThat(unknown.err()).contains("NOT_FOUND").contains("service 'nope' is not registered");
    }
  }

  /**
   * An Envoy of the same group that never reads its responses (hung) is connected throughout: it
   * neither delays the trials' verdicts (each would wait the verdict timeout for it) nor decides
   * them.
   */
  @ParameterizedTest
  @EnumSource(EnvoyProcess.XdsMode.class)
  void aBurstWithTwoRejectedRegistrationsIsBisectedAndOnlyThoseTwoAreQuarantined(
      EnvoyProcess.XdsMode mode) {
    try (GatewayFixture gateway = startAllowingRegexesEnvoyRefuses(mode);
        Admin admin = new Admin(gateway);
        FakeAdsClient hung =
            FakeAdsClient.neverReading(
                gateway.controlPlane().grpcPort(),
                FakeAdsClient.node("hung-1", GatewayFixture.GROUP),
                mode == EnvoyProcess.XdsMode.DELTA)) {
      gateway.serve("catalog", "catalog-1", Routes.prefix("/catalog"));
      HttpProbe.awaitStatus(gateway.url("/catalog"), 200, REACHES_ENVOY);

      // Paused, the four registrations are published in one snapshot on resume: the pipeline
      // coalesces them.
      admin.stub().pausePushes(PausePushesRequest.getDefaultInstance());
      gateway.serve(
          "audit", "audit-1", Routes.prefix("/audit"), Routes.regex("/audit" + TOO_LARGE));
      gateway.serve("billing", "billing-1", Routes.prefix("/billing"));
      gateway.serve("chat", "chat-1", Routes.prefix("/chat"), Routes.regex("/chat" + TOO_LARGE));
      gateway.serve("docs", "docs-1", Routes.prefix("/docs"));
      long historyBefore = gateway.controlPlane().publisher().history().latest(100).size();
      long resumed = System.nanoTime();
      admin.stub().resumePushes(ResumePushesRequest.getDefaultInstance());

      await()
          .atMost(REACHES_ENVOY)
          .pollInterval(Duration.ofMillis(20))
          .until(
              () ->
                  admin.statuses().get("chat") == RegistrationStatus.QUARANTINED
                      && admin.statuses().get("audit") == RegistrationStatus.QUARANTINED);
      Duration quarantinedAfter = Duration.ofNanos(System.nanoTime() - resumed);
      HttpProbe.awaitStatus(gateway.url("/billing"), 200, REACHES_ENVOY);
      HttpProbe.awaitStatus(gateway.url("/docs"), 200, REACHES_ENVOY);
      assertThat(HttpProbe.get(gateway.url("/catalog")).status()).isEqualTo(200);
      assertThat(admin.statuses())
          .containsExactlyInAnyOrderEntriesOf(
              Map.of(
                  "audit",
                  RegistrationStatus.QUARANTINED,
                  "billing",
                  RegistrationStatus.ACTIVE,
                  "catalog",
                  RegistrationStatus.ACTIVE,
                  "chat",
                  RegistrationStatus.QUARANTINED,
                  "docs",
                  RegistrationStatus.ACTIVE));
      assertThat(admin.service("audit").getStatusReason())
          .contains("regex '/audit" + TOO_LARGE + "'");
      assertThat(admin.service("chat").getStatusReason())
          .contains("regex '/chat" + TOO_LARGE + "'");
      long trials = gateway.controlPlane().publisher().quarantineTrials();
      assertThat(trials).as("bisected: 4 candidates, 2 culprits").isBetween(2L, 8L);
      System.out.printf(
          "bisection (%s, one hung Envoy): %d trials, quarantined %d ms after resume%n",
          mode, trials, quarantinedAfter.toMillis());
      assertThat(quarantinedAfter)
          .as("no trial waited out its verdict timeout for the hung Envoy")
          .isLessThan(NackQuarantine.DEFAULT_VERDICT_TIMEOUT.multipliedBy(trials).dividedBy(2));
      assertThat(gateway.controlPlane().publisher().history().latest(100).size() - historyBefore)
          .as("the burst, its trials and the outcome")
          .isGreaterThanOrEqualTo(trials + 2);
      assertThat(gateway.envoy().configDump()).doesNotContain("(ab|cd|ef|gh)");
    }
  }

  /**
   * The admin API of the fixture's control plane, over gRPC and through {@code signalboxctl}
   * in-process.
   */
  /**
   * A sidecar rejects what only it is sent: users registers an instance on a port its sidecar's
   * host cannot bind, so users' sidecar rejects the inbound listener. Users is quarantined with the
   * sidecar's error, and the edge and the other services carry on.
   */
  @Test
  void aRegistrationASidecarRejectsIsQuarantinedWithTheSidecarsError() throws Exception {
    try (java.net.ServerSocket taken =
            new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"));
        GatewayFixture gateway =
            GatewayFixture.startWithSidecars(
                new SidecarSettings(
                    "127.0.0.1",
                    io.signalbox.testing.FreePorts.allocate(),
                    Duration.ofHours(1),
                    Map.of()));
        Admin admin = new Admin(gateway)) {
      gateway.serve("orders", "orders-1", Routes.prefix("/orders"));
      HttpProbe.awaitStatus(gateway.url("/orders"), 200, REACHES_ENVOY);
      EnvoyProcess usersSidecar = gateway.startSidecar("users");
      usersSidecar.awaitReady();

      io.signalbox.samples.EchoService usersApp = gateway.backend("users", "users-1");
      gateway.register(
          io.signalbox.client.ServiceRegistration.builder("users")
              .instance("users-1", "127.0.0.1", taken.getLocalPort())
              .applicationPort(usersApp.port())
              .route(Routes.prefix("/users"))
              .build());

      await()
          .atMost(REACHES_ENVOY)
          .until(() -> admin.service("users").getStatus() == RegistrationStatus.QUARANTINED);
      assertThat(admin.service("users").getStatusReason())
          .contains("(group sidecar/users) rejected listeners")
          .contains("Address already in use");
      gateway.serve("billing", "billing-1", Routes.prefix("/billing"));
      HttpProbe.awaitStatus(gateway.url("/billing"), 200, REACHES_ENVOY);
      assertThat(HttpProbe.get(gateway.url("/orders")).status()).isEqualTo(200);
    }
  }

  private static final class Admin implements AutoCloseable {
    private final GatewayFixture gateway;
    private final ManagedChannel channel;

    Admin(GatewayFixture gateway) {
      this.gateway = gateway;
      this.channel =
          NettyChannelBuilder.forAddress("127.0.0.1", gateway.controlPlane().adminPort())
              .usePlaintext()
              .build();
    }

    AdminGrpc.AdminBlockingStub stub() {
      return AdminGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS);
    }

    Service service(String name) {
      return stub().getService(GetServiceRequest.newBuilder().setService(name).build());
    }

    Map<String, RegistrationStatus> statuses() {
      return stub()
          .listServices(ListServicesRequest.getDefaultInstance())
          .getServicesList()
          .stream()
          .collect(Collectors.toMap(Service::getName, Service::getStatus));
    }

    SignalboxCtlRun ctl(String... args) {
      return SignalboxCtlRun.against(gateway.controlPlane().adminPort(), args);
    }

    @Override
    public void close() {
      channel.shutdownNow();
    }
  }
}
