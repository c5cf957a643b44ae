package io.signalbox.e2e;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.signalbox.client.Registration;
import io.signalbox.client.RegistryClient;
import io.signalbox.client.RouteSpec;
import io.signalbox.client.ServiceRegistration;
import io.signalbox.config.GatewaySettings;
import io.signalbox.config.SidecarSettings;
import io.signalbox.registry.v1.RegistryGrpc;
import io.signalbox.samples.EchoService;
import io.signalbox.server.ControlPlane;
import io.signalbox.server.ControlPlaneConfig;
import io.signalbox.testing.Closer;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.FreePorts;
import io.signalbox.testing.LoopbackUpstreams;
import io.signalbox.testing.TestControlPlanes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * A control plane, one edge Envoy connected to it over ADS, and the backends a test starts:
 * everything on loopback, on free ports, torn down in reverse order.
 */
final class GatewayFixture implements AutoCloseable {

  static final String GROUP = "edge";

  private final ControlPlane controlPlane;
  private final int gatewayPort;
  private final EnvoyProcess.XdsMode mode;
  private final RegistryClient client;
  private final ManagedChannel rawChannel;
  private final Closer owned = new Closer();
  private final List<EnvoyProcess> envoys = Collections.synchronizedList(new ArrayList<>());

  /** What the fixture's edge Envoys are started with besides its own settings. */
  private final UnaryOperator<EnvoyProcess.Builder> edgeEnvoy;

  private GatewayFixture(
      EnvoyProcess.XdsMode mode,
      int gatewayPort,
      Consumer<ControlPlaneConfig.Builder> customizer,
      UnaryOperator<EnvoyProcess.Builder> edgeEnvoy) {
    this.mode = mode;
    this.edgeEnvoy = edgeEnvoy;
    this.gatewayPort = gatewayPort;
    ControlPlaneConfig.Builder config =
        TestControlPlanes.onLoopback()
            .gateway(
                LoopbackUpstreams.allowedIn(GatewaySettings.plaintext("127.0.0.1", gatewayPort)));
    customizer.accept(config);
    this.controlPlane = ControlPlane.start(config.build());
    this.client =
        RegistryClient.builder()
            .target("127.0.0.1:" + controlPlane.grpcPort())
            .shutdownHook(false)
            .build();
    this.rawChannel =
        NettyChannelBuilder.forAddress("127.0.0.1", controlPlane.grpcPort()).usePlaintext().build();
  }

  static GatewayFixture start(EnvoyProcess.XdsMode mode) {
    return start(mode, config -> {});
  }

  /** As {@link #start(EnvoyProcess.XdsMode)}, the Envoy started with {@code edgeEnvoy} options. */
  static GatewayFixture startWithEnvoy(
      EnvoyProcess.XdsMode mode, UnaryOperator<EnvoyProcess.Builder> edgeEnvoy) {
    return start(mode, FreePorts.allocate(), config -> {}, edgeEnvoy);
  }

  /**
   * Starts with gateway settings of the test's making: {@code settings} receives a builder that
   * already holds the plaintext listener {@value GatewaySettings#DEFAULT_LISTENER} on the fixture's
   * gateway port.
   */
  static GatewayFixture startWithSettings(
      EnvoyProcess.XdsMode mode, UnaryOperator<GatewaySettings.Builder> settings) {
    int port = FreePorts.allocate();
    return start(
        mode,
        port,
        config ->
            config.gateway(
                settings
                    .apply(
                        GatewaySettings.plaintext("127.0.0.1", port).toBuilder()
                            .upstreams(LoopbackUpstreams.ALLOWED))
                    .build()));
  }

  /**
   * In sidecar mode, over delta ADS: {@code sidecars} places the sidecars' outbound listeners and
   * sets their certificates' validity (and CA).
   */
  static GatewayFixture startWithSidecars(SidecarSettings sidecars) {
    return startWithSidecars(sidecars, settings -> settings);
  }

  /** As {@link #startWithSidecars(SidecarSettings)}, with {@code more} settings of the test's. */
  static GatewayFixture startWithSidecars(
      SidecarSettings sidecars, UnaryOperator<GatewaySettings.Builder> more) {
    return startWithSettings(
        EnvoyProcess.XdsMode.DELTA, settings -> more.apply(settings.sidecars(sidecars)));
  }

  /**
   * Starts the control plane and one Envoy of group {@link #GROUP}, and waits until Envoy is ready.
   */
  static GatewayFixture start(
      EnvoyProcess.XdsMode mode, Consumer<ControlPlaneConfig.Builder> customizer) {
    return start(mode, FreePorts.allocate(), customizer);
  }

  /** As {@link #start(EnvoyProcess.XdsMode)}, with the Envoy declaring {@code zone}. */
  static GatewayFixture startInZone(EnvoyProcess.XdsMode mode, String zone) {
    return startWithEnvoy(mode, envoy -> envoy.serviceZone(zone));
  }

  private static GatewayFixture start(
      EnvoyProcess.XdsMode mode, int gatewayPort, Consumer<ControlPlaneConfig.Builder> customizer) {
    return start(mode, gatewayPort, customizer, envoy -> envoy);
  }

  private static GatewayFixture start(
      EnvoyProcess.XdsMode mode,
      int gatewayPort,
      Consumer<ControlPlaneConfig.Builder> customizer,
      UnaryOperator<EnvoyProcess.Builder> edgeEnvoy) {
    GatewayFixture fixture = new GatewayFixture(mode, gatewayPort, customizer, edgeEnvoy);
    try {
      fixture.startEnvoy("edge-1").awaitReady();
      return fixture;
    } catch (RuntimeException e) {
      fixture.close();
      throw e;
    }
  }

  /**
   * Another Envoy of the same group, e.g. to check that a whole group is sent one configuration.
   */
  EnvoyProcess startEnvoy(String nodeId) {
    EnvoyProcess envoy =
        edgeEnvoy
            .apply(
                EnvoyProcess.builder()
                    .nodeId(nodeId)
                    .nodeCluster(GROUP)
                    .xdsPort(controlPlane.grpcPort())
                    .xdsMode(mode))
            .start();
    envoys.add(envoy);
    return envoy;
  }

  /**
   * A sidecar Envoy of {@code service}, connected to the control plane; closed with the fixture.
   */
  EnvoyProcess startSidecar(String service) {
    EnvoyProcess envoy =
        EnvoyProcess.builder()
            .nodeId(service + "-sidecar-" + envoys.size())
            .sidecarOf(service)
            .xdsPort(controlPlane.grpcPort())
            .xdsMode(mode)
            .start();
    envoys.add(envoy);
    return envoy;
  }

  EnvoyProcess envoy() {
    return envoys.get(0);
  }

  ControlPlane controlPlane() {
    return controlPlane;
  }

  int gatewayPort() {
    return gatewayPort;
  }

  String url(String path) {
    return "http://127.0.0.1:" + gatewayPort + path;
  }

  /** A backend answering as {@code service}/{@code instanceId}; closed with the fixture. */
  EchoService backend(String service, String instanceId) {
    EchoService backend = EchoService.start(service, instanceId, "127.0.0.1", 0);
    owned.add(backend);
    return backend;
  }

  /** Starts a backend and registers it through the SDK, as a sample service does at startup. */
  Registration serve(String service, String instanceId, RouteSpec... routes) {
    EchoService backend = backend(service, instanceId);
    ServiceRegistration.Builder registration =
        ServiceRegistration.builder(service).instance(instanceId, "127.0.0.1", backend.port());
    for (RouteSpec route : routes) {
      registration.route(route);
    }
    return register(registration.build());
  }

  Registration register(ServiceRegistration registration) {
    Registration handle = client.register(registration);
    owned.add(handle);
    return handle;
  }

  /**
   * The registry API without the SDK, for requests the SDK would never send and for instances that
   * never renew.
   */
  RegistryGrpc.RegistryBlockingStub registryStub() {
    return RegistryGrpc.newBlockingStub(rawChannel)
        .withDeadlineAfter(
            Duration.ofSeconds(5).toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() {
    owned.close();
    client.close();
    rawChannel.shutdownNow();
    envoys.forEach(EnvoyProcess::close);
    controlPlane.close();
  }
}
