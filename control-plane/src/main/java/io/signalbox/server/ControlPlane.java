package io.signalbox.server;

import com.google.common.util.concurrent.ThreadFactoryBuilder;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.server.DefaultExecutorGroup;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.controlplane.server.serializer.CachedProtoResourcesSerializer;
import io.envoyproxy.controlplane.server.serializer.ProtoResourcesSerializer;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionService;
import io.signalbox.admin.AdminServer;
import io.signalbox.config.GatewaySettings;
import io.signalbox.config.GatewaySettingsWatcher;
import io.signalbox.metrics.MetricsServer;
import io.signalbox.metrics.SignalboxMetrics;
import io.signalbox.model.RegistryQuotas;
import io.signalbox.registry.AccessRevocation;
import io.signalbox.registry.HostResolver;
import io.signalbox.registry.RegistrationValidator;
import io.signalbox.registry.RegistryService;
import io.signalbox.registry.v1.RegistryGrpc;
import io.signalbox.security.AccessControl;
import io.signalbox.security.AuditLog;
import io.signalbox.security.IdentityInterceptor;
import io.signalbox.security.TransportSecurity;
import io.signalbox.store.InMemoryRegistryStore;
import io.signalbox.store.LeaseClock;
import io.signalbox.store.LeaseReaper;
import io.signalbox.store.RegistryEngine;
import io.signalbox.store.RegistryStore;
import io.signalbox.translate.GatewayTranslator;
import io.signalbox.xds.DeltaAdsServer;
import io.signalbox.xds.InitialDeltaResponseWatcher;
import io.signalbox.xds.LaggingStreams;
import io.signalbox.xds.NackAwareConfigWatcher;
import io.signalbox.xds.NackQuarantine;
import io.signalbox.xds.NodeGroups;
import io.signalbox.xds.ProxyStatusTracker;
import io.signalbox.xds.ResponseWrites;
import io.signalbox.xds.ResumedDeltaWatcher;
import io.signalbox.xds.SidecarSnapshots;
import io.signalbox.xds.SnapshotPublisher;
import io.signalbox.xds.XdsCallbacks;
import io.signalbox.xds.XdsSnapshotCache;
import io.signalbox.xds.XdsStreamAuthorization;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Signalbox: registry API and xDS on one gRPC server, and the pipeline between them
 * (registry API → store → translator → snapshot cache → xDS); the admin API on a second one.
 */
public final class ControlPlane implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ControlPlane.class);

  /**
   * Registrations are small; anything near this is abuse, and the validator reports sizes above its
   * own limit.
   */
  private static final int MAX_INBOUND_MESSAGE_BYTES = 4 * 1024 * 1024;

  /**
   * Concurrent calls (streams) one connection may hold: an Envoy holds one ADS stream, an SDK one
   * KeepAlive stream per registration. Beyond it the client's further streams wait for one to end,
   * so one connection cannot make the server hold unbounded stream state.
   */
  static final int MAX_CALLS_PER_CONNECTION = 256;

  /** Request headers: identities come from certificates, nothing needs large metadata. */
  private static final int MAX_INBOUND_METADATA_BYTES = 16 * 1024;

  /** What the workload certificates are issued by and for, as read at start. */
  private final MeshIssuance meshIssuance;

  /** The embedded store or etcd, with the engine the gateway is built from. */
  private final RegistryBackEnd backEnd;

  private final LeaseReaper reaper;

  /**
   * The wall clock of everything the control plane times or stamps (audit lines, certificates,
   * proxy status, history, the registry's times), but the leases' own {@link #leaseClock}.
   */
  private final Clock clock = Clock.systemUTC();

  /**
   * Lease time that stops while this process is stalled, so a stall extends leases instead of
   * expiring them.
   */
  private final LeaseClock leaseClock =
      LeaseClock.start(Duration.ofMillis(100), Duration.ofSeconds(1));

  private final SnapshotPublisher publisher;
  private final AccessRevocation accessRevocation;
  private final XdsCallbacks callbacks;
  private final LaggingStreams laggingStreams;
  private final Server server;
  private final GatewaySettingsWatcher settingsWatcher;
  private final SignalboxMetrics metrics = SignalboxMetrics.prometheus();
  private final ScheduledExecutorService journalDoctor =
      Executors.newSingleThreadScheduledExecutor(
          new ThreadFactoryBuilder()
              .setNameFormat("signalbox-journal-doctor")
              .setDaemon(true)
              .build());
  private final ScheduledExecutorService tlsReloader =
      Executors.newSingleThreadScheduledExecutor(
          new ThreadFactoryBuilder().setNameFormat("signalbox-tls-reload").setDaemon(true).build());
  private final List<TransportSecurity.Credentials> credentials = new ArrayList<>();
  private final AuditLog audit;
  private AdminServer adminServer;

  /**
   * Every port this control plane listens on, once all listen: asked on every registration (an
   * instance may not point at them), and asking the servers takes their locks.
   */
  private volatile Set<Integer> boundPorts;

  private MetricsServer metricsServer;

  private ControlPlane(ControlPlaneConfig config) {
    TransportSecurity transport = config.transport();
    TransportSecurity.Credentials grpcCredentials;
    TransportSecurity.Credentials adminCredentials;
    try {
      // TLS files next to the settings: a bad certificate or key stops the start before anything
      // listens.
      grpcCredentials = transport.serverCredentials(tlsReloader);
      credentials.add(grpcCredentials);
      adminCredentials = transport.serverCredentials(tlsReloader);
      credentials.add(adminCredentials);
      this.audit =
          config
              .auditLogFile()
              .map(file -> AuditLog.toFile(clock, file))
              .orElseGet(() -> AuditLog.toLogger(clock));
    } catch (RuntimeException e) {
      closeTransport();
      metrics.close();
      throw e;
    }
    // Settings first: an invalid settings file stops the start before anything listens.
    try {
      this.settingsWatcher =
          config
              .settingsFile()
              .map(
                  file ->
                      GatewaySettingsWatcher.start(
                          file, config.settingsPollInterval(), this::updateSettings, metrics))
              .orElse(null);
    } catch (RuntimeException e) {
      audit.close();
      closeTransport();
      metrics.close();
      throw e;
    }
    GatewaySettings settings =
        settingsWatcher != null ? settingsWatcher.current() : config.gateway();
    // The whole registry is read before anything listens; an unreadable store stops the start
    // (never starts empty).
    try {
      this.backEnd = RegistryBackEnd.open(config, leaseClock, clock, this::quotas);
    } catch (RuntimeException e) {
      closeEarly();
      throw e;
    }
    RegistryEngine engine = backEnd.engine();
    RegistryStore registry = backEnd.registry();
    NodeGroups groups = new NodeGroups();
    XdsSnapshotCache cache = new XdsSnapshotCache(groups);
    Duration certificateValidity = settings.sidecars().certificateValidity();
    this.meshIssuance = MeshIssuance.of(settings);
    ProxyStatusTracker proxies =
        new ProxyStatusTracker(groups, clock, metrics, config.xdsLagLimit());
    this.publisher =
        SnapshotPublisher.builder(engine, settings, new GatewayTranslator(), cache)
            .coalescing(config.publishQuietPeriod(), config.publishMaxDelay())
            .clock(clock)
            .metrics(metrics)
            .sidecars(new SidecarSnapshots(MeshIssuance.identities(settings, clock, metrics)))
            .stageChanges(proxies, config.stageTimeout())
            .quarantine(engine, proxies, NackQuarantine.DEFAULT_VERDICT_TIMEOUT)
            .forgetGroupsWithoutEnvoys(proxies::hasStreams)
            .build();
    // Workload certificates are issued again once half their life has passed, at a publication:
    // one every eighth of it sends them well before they expire.
    long rotationMillis = certificateValidity.toMillis() / 8;
    tlsReloader.scheduleAtFixedRate(
        publisher::requestPublish, rotationMillis, rotationMillis, TimeUnit.MILLISECONDS);
    NackAwareConfigWatcher watcher =
        new NackAwareConfigWatcher(
            new ResumedDeltaWatcher(new InitialDeltaResponseWatcher(cache, groups), cache, groups));
    this.callbacks =
        new XdsCallbacks(
            groups,
            proxies,
            publisher::groupSeen,
            publisher::groupLeft,
            publisher::xdsAnswered,
            watcher,
            metrics);
    this.laggingStreams = new LaggingStreams(proxies, config.xdsCutoff(), metrics, clock);
    ResponseWrites writes =
        new ResponseWrites(
            (streamId, typeUrl, nonce) -> {
              // Only endpoints are delivered by order: other writes neither count nor end a wait.
              if (typeUrl.equals(Resources.V3.ENDPOINT_TYPE_URL)) {
                proxies.written(streamId, typeUrl, nonce);
                publisher.xdsWritten();
              }
            });
    List<DiscoveryServerCallbacks> streamCallbacks = List.of(callbacks, laggingStreams, writes);
    ProtoResourcesSerializer serializer = new CachedProtoResourcesSerializer();
    V3DiscoveryServer stateOfTheWorld =
        new V3DiscoveryServer(streamCallbacks, watcher, new DefaultExecutorGroup(), serializer);
    DeltaAdsServer delta = new DeltaAdsServer(streamCallbacks, watcher, serializer, cache, groups);
    HealthStatusManager health = new HealthStatusManager();
    AccessControl access =
        AccessControl.forTransport(transport, () -> publisher.settings().access());
    IdentityInterceptor identity = IdentityInterceptor.forTransport(transport);
    this.server =
        NettyServerBuilder.forAddress(
                new InetSocketAddress(config.grpcAddress(), config.grpcPort()),
                grpcCredentials.credentials())
            .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
            .maxInboundMetadataSize(MAX_INBOUND_METADATA_BYTES)
            .maxConcurrentCallsPerConnection(MAX_CALLS_PER_CONNECTION)
            // Interceptors run last-added first. Every service on this port (registry API, xDS,
            // rate-limit service) sees
            // the caller's identity; an ADS stream is checked against the node group it asks for
            // before anything else.
            .intercept(new XdsStreamAuthorization(access, audit, publisher.zoneAdmission()))
            .intercept(new io.signalbox.ratelimit.RateLimitAuthorization(access, audit))
            .intercept(identity)
            .addService(
                ServerInterceptors.intercept(
                    laggingStreams.wrap(
                        delta.aggregatedDiscoveryService(
                            stateOfTheWorld.getAggregatedDiscoveryServiceImpl())),
                    writes))
            .addService(
                new RegistryService(
                    registry,
                    new RegistrationValidator(
                        // At most 2 s per name, on 4 threads of one pool per control plane: a
                        // slow DNS server delays a registration, never the server.
                        HostResolver.bounded(config.hostResolver(), Duration.ofSeconds(2), 4),
                        GatewaySettings.registrationRules(publisher::settings),
                        this::ownPorts),
                    metrics,
                    access,
                    audit))
            .addService(
                new io.signalbox.ratelimit.BuiltInRateLimitService(
                    clock,
                    () -> publisher.settings().rateLimitService().counterMemoryBytes(),
                    metrics))
            .addService(health.getHealthService())
            .addService(ProtoReflectionService.newInstance())
            .build();
    this.accessRevocation =
        new AccessRevocation(
            backEnd.admin(), access, audit, metrics, journalDoctor, AccessRevocation.RETRY_AFTER);
    // Leases kept from before the start were admitted by the settings of their time.
    accessRevocation.revokeRefused("revoked by the access policy at start");
    // The store is complete before anything is published: an empty first snapshot would blank every
    // Envoy.
    publisher.start();
    this.reaper =
        new LeaseReaper(registry, config.leaseReapInterval(), metrics, config.massExpiry());
    metrics.bindLeaseExpiryPaused(reaper::paused);
    backEnd.bindMetrics(metrics);
    metrics.bindPushesPaused(() -> publisher.pausedSince().isPresent());
    metrics.bindHandoverHeld(publisher::handoverHeld);
    try {
      server.start();
    } catch (IOException e) {
      close();
      throw new UncheckedIOException(
          "cannot listen on " + config.grpcAddress() + ":" + config.grpcPort(), e);
    }
    try {
      adminServer =
          AdminServer.start(
              config.adminAddress(),
              config.adminPort(),
              adminCredentials.credentials(),
              identity,
              access,
              audit,
              registry,
              backEnd.admin(),
              publisher,
              callbacks.proxies(),
              cache,
              clock);
      metricsServer = MetricsServer.start(config.metricsAddress(), config.metricsPort(), metrics);
      boundPorts = Set.copyOf(ownPorts());
    } catch (RuntimeException e) {
      close();
      throw e;
    }
    health.setStatus("", ServingStatus.SERVING);
    if (backEnd.embedded() != null) {
      watchJournal(backEnd.embedded(), health);
    }
    if (!transport.isTls()) {
      log.warn(
          "Running WITHOUT TLS (--insecure-plaintext): the registry API, xDS, the rate-limit service and the "
              + "admin API trust whoever connects. Anyone who reaches {}:{} can register routes, read private keys "
              + "and evict services.",
          config.grpcAddress(),
          grpcPort());
    }
    log.info(
        "Signalbox listening on {}:{} (registry API and xDS), admin API on {}:{}, metrics on "
            + "http://{}:{}{}; gateway listeners {}",
        config.grpcAddress(),
        grpcPort(),
        config.adminAddress(),
        adminPort(),
        config.metricsAddress(),
        metricsPort(),
        MetricsServer.PATH,
        settings.listeners().stream().map(l -> l.name() + " on port " + l.port()).toList());
  }

  /**
   * While the registry's disk fails, the control plane reports NOT_SERVING (a load balancer or
   * orchestrator sees it) and retries rewriting the journal every second; SERVING again once that
   * succeeds.
   */
  private void watchJournal(InMemoryRegistryStore embedded, HealthStatusManager health) {
    journalDoctor.scheduleWithFixedDelay(
        () -> {
          try {
            boolean healthy = embedded.journalHealthy() || embedded.recoverJournal();
            ServingStatus status = healthy ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
            health.setStatus("", status);
            health.setStatus(RegistryGrpc.SERVICE_NAME, status);
          } catch (RuntimeException e) {
            log.error("Checking the registry's disk failed", e);
          }
        },
        1,
        1,
        TimeUnit.SECONDS);
  }

  public static ControlPlane start(ControlPlaneConfig config) {
    return new ControlPlane(config);
  }

  /** The quotas of the settings in force (read for every registration: the settings may reload). */
  private RegistryQuotas quotas() {
    return publisher.settings().limits().registry();
  }

  /** The ports this control plane listens on, which no registered instance on its host may name. */
  private java.util.Set<Integer> ownPorts() {
    Set<Integer> bound = boundPorts;
    if (bound != null) {
      return bound;
    }
    java.util.Set<Integer> ports = new java.util.HashSet<>();
    ports.add(server.getPort());
    if (adminServer != null) {
      ports.add(adminServer.port());
    }
    if (metricsServer != null) {
      ports.add(metricsServer.port());
    }
    return ports;
  }

  /** The port actually bound (useful when the configured port was 0). */
  public int grpcPort() {
    return server.getPort();
  }

  /** The admin API's port actually bound. */
  public int adminPort() {
    return adminServer.port();
  }

  /** The Prometheus endpoint's port actually bound. */
  public int metricsPort() {
    return metricsServer.port();
  }

  /** Every meter; {@code /metrics} serves {@link SignalboxMetrics#scrape()}. */
  public SignalboxMetrics metrics() {
    return metrics;
  }

  /** Replaces the gateway settings; the fleet gets the new translation shortly. */
  public void updateSettings(GatewaySettings settings) {
    if (!MeshIssuance.of(settings).equals(meshIssuance)) {
      log.warn(
          "The settings change sidecars.ca, sidecars.certificateValidity or access.trustDomain:"
              + " workload certificates keep being issued as at start until the control plane"
              + " restarts");
    }
    boolean accessChanged = !settings.access().equals(publisher.settings().access());
    publisher.updateSettings(settings);
    if (accessChanged) {
      accessRevocation.revokeRefused("revoked by the access policy reloaded");
    }
  }

  public SnapshotPublisher publisher() {
    return publisher;
  }

  public XdsCallbacks xdsCallbacks() {
    return callbacks;
  }

  @Override
  public void close() {
    if (settingsWatcher != null) {
      settingsWatcher.close();
    }
    if (adminServer != null) {
      adminServer.close();
    }
    if (metricsServer != null) {
      metricsServer.close();
    }
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    reaper.close();
    laggingStreams.close();
    leaseClock.close();
    journalDoctor.shutdownNow();
    publisher.close();
    backEnd.close();
    audit.close();
    closeTransport();
    metrics.close();
  }

  private void closeTransport() {
    credentials.forEach(TransportSecurity.Credentials::close);
    tlsReloader.shutdownNow();
  }

  private void closeEarly() {
    leaseClock.close();
    journalDoctor.shutdownNow();
    if (settingsWatcher != null) {
      settingsWatcher.close();
    }
    audit.close();
    closeTransport();
    metrics.close();
  }

  /** Blocks until the gRPC server terminates. */
  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }
}
