package io.signalbox.server;

import io.signalbox.config.GatewaySettings;
import io.signalbox.registry.HostResolver;
import io.signalbox.security.TransportSecurity;
import io.signalbox.store.EtcdConnection;
import io.signalbox.store.LeasePolicy;
import io.signalbox.store.MassExpiryProtection;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * How a control plane runs.
 *
 * @param grpcAddress address the gRPC server (registry API and xDS) binds to
 * @param grpcPort its port; 0 picks a free one
 * @param gateway the gateway settings, unless a settings file is given
 * @param settingsFile YAML gateway settings, loaded at start (the control plane does not start when
 *     it is invalid) and reloaded when it changes
 * @param settingsPollInterval how often the settings file and the files it names are checked for
 *     changes
 * @param publishQuietPeriod the pipeline publishes once no change has arrived for this long
 * @param publishMaxDelay ... but never later than this after the first change
 * @param leaseReapInterval how often expired leases are removed
 * @param stageTimeout how long a change that adds or removes clusters waits for Envoys to apply
 *     each stage (clusters before the routes that use them; routes gone before their clusters);
 *     zero publishes in one step
 * @param xdsLagLimit how long a response may go unanswered before its stream counts as lagging: a
 *     lagging Envoy holds no staged change and no quarantine verdict back
 * @param xdsCutoff how long a stream may lag before the control plane ends it; zero never does
 * @param adminAddress address the admin API binds to; loopback by default, since it can drain and
 *     evict
 * @param adminPort its port; 0 picks a free one. Unless set, the gRPC port + 1 (18001 with the
 *     default 18000), and a free one when the gRPC port is 0, so that control planes side by side
 *     (tests, benchmarks) never collide
 * @param metricsAddress address of the Prometheus endpoint ({@code /metrics}); loopback by default
 * @param metricsPort its port; 0 picks a free one. Unless set, the gRPC port + 2 (18002), as for
 *     the admin port
 * @param dataDirectory where the registry is kept on disk (an H2 MVStore file); empty keeps it in
 *     memory only, so a restart forgets every registration until the services register again
 * @param leaseGrace how long every restored lease lives at least after a restart; empty means one
 *     TTL of each lease
 * @param massExpiry when the lease reaper holds expiry back because too many leases expired at once
 * @param etcd when present, the registry lives in etcd (shared by every replica that names the same
 *     cluster) instead of the data directory, which is then unused: its endpoints, the timeout of
 *     one call (after which a registration fails as UNAVAILABLE), and optionally TLS files and
 *     credentials
 * @param transport how the gRPC ports (registry API, xDS, rate-limit service, admin API) talk to
 *     their peers: mutual TLS, or plaintext; there is no default, a control plane must be told
 *     which
 * @param auditLogFile where the audit log (one JSON line per registry change and admin call) is
 *     appended, besides the {@code signalbox.audit} logger
 */
public record ControlPlaneConfig(
    String grpcAddress,
    int grpcPort,
    GatewaySettings gateway,
    LeasePolicy leasePolicy,
    Duration publishQuietPeriod,
    Duration publishMaxDelay,
    Duration leaseReapInterval,
    HostResolver hostResolver,
    Optional<Path> settingsFile,
    Duration settingsPollInterval,
    String adminAddress,
    int adminPort,
    Duration stageTimeout,
    Duration xdsLagLimit,
    Duration xdsCutoff,
    String metricsAddress,
    int metricsPort,
    Optional<Path> dataDirectory,
    Optional<Duration> leaseGrace,
    MassExpiryProtection massExpiry,
    Optional<EtcdConnection> etcd,
    TransportSecurity transport,
    Optional<Path> auditLogFile) {

  public static final String DEFAULT_ADMIN_ADDRESS = "127.0.0.1";
  public static final String DEFAULT_METRICS_ADDRESS = "127.0.0.1";

  public ControlPlaneConfig {
    Objects.requireNonNull(grpcAddress);
    Objects.requireNonNull(adminAddress);
    Objects.requireNonNull(stageTimeout);
    if (xdsLagLimit.isNegative() || xdsLagLimit.isZero()) {
      throw new IllegalArgumentException("xdsLagLimit must be positive: " + xdsLagLimit);
    }
    if (xdsCutoff.isNegative()) {
      throw new IllegalArgumentException("xdsCutoff must not be negative (0 never cuts off)");
    }
    Objects.requireNonNull(metricsAddress);
    Objects.requireNonNull(gateway);
    Objects.requireNonNull(leasePolicy);
    Objects.requireNonNull(publishQuietPeriod);
    Objects.requireNonNull(publishMaxDelay);
    Objects.requireNonNull(leaseReapInterval);
    Objects.requireNonNull(hostResolver);
    settingsFile = settingsFile == null ? Optional.empty() : settingsFile;
    Objects.requireNonNull(settingsPollInterval);
    dataDirectory = dataDirectory == null ? Optional.empty() : dataDirectory;
    leaseGrace = leaseGrace == null ? Optional.empty() : leaseGrace;
    Objects.requireNonNull(massExpiry);
    etcd = etcd == null ? Optional.empty() : etcd;
    Objects.requireNonNull(
        transport, "transport: choose TransportSecurity.mutualTls(...) or plaintext()");
    auditLogFile = auditLogFile == null ? Optional.empty() : auditLogFile;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Defaults suit a production gateway; tests shorten TTLs and pick free ports. */
  public static final class Builder {
    private String grpcAddress = "0.0.0.0";
    private int grpcPort = 18000;
    private GatewaySettings gateway = GatewaySettings.DEFAULT;
    private LeasePolicy leasePolicy = LeasePolicy.DEFAULT;
    private Duration publishQuietPeriod = Duration.ofMillis(1);
    private Duration publishMaxDelay = Duration.ofMillis(100);
    private Duration leaseReapInterval = Duration.ofMillis(200);

    private HostResolver hostResolver = HostResolver.system();

    private Path settingsFile;
    private Duration settingsPollInterval = Duration.ofSeconds(1);
    private String adminAddress = DEFAULT_ADMIN_ADDRESS;
    private Integer adminPort;
    private Duration stageTimeout = Duration.ofSeconds(2);
    private Duration xdsLagLimit = io.signalbox.xds.ProxyStatusTracker.DEFAULT_LAG_LIMIT;
    private Duration xdsCutoff = io.signalbox.xds.LaggingStreams.DEFAULT_CUTOFF;
    private String metricsAddress = DEFAULT_METRICS_ADDRESS;
    private Integer metricsPort;
    private Path dataDirectory;
    private Duration leaseGrace;
    private MassExpiryProtection massExpiry = MassExpiryProtection.DEFAULT;
    private EtcdConnection etcd;
    private TransportSecurity transport;
    private Path auditLogFile;

    /**
     * How the gRPC ports talk to their peers; required (there is no default, see {@link
     * TransportSecurity}).
     */
    public Builder transport(TransportSecurity security) {
      this.transport = security;
      return this;
    }

    public Builder auditLogFile(Path file) {
      this.auditLogFile = file;
      return this;
    }

    /**
     * Keeps the registry in etcd, reached as {@code connection} says (endpoints, timeout, TLS,
     * credentials).
     */
    public Builder etcd(EtcdConnection connection) {
      this.etcd = connection;
      return this;
    }

    public Builder dataDirectory(Optional<Path> directory) {
      this.dataDirectory = directory.orElse(null);
      return this;
    }

    public Builder dataDirectory(Path directory) {
      this.dataDirectory = directory;
      return this;
    }

    public Builder leaseGrace(Duration grace) {
      this.leaseGrace = grace;
      return this;
    }

    public Builder massExpiry(MassExpiryProtection protection) {
      this.massExpiry = protection;
      return this;
    }

    public Builder grpcAddress(String address) {
      this.grpcAddress = address;
      return this;
    }

    public Builder grpcPort(int port) {
      this.grpcPort = port;
      return this;
    }

    public Builder gateway(GatewaySettings config) {
      this.gateway = config;
      return this;
    }

    public Builder leasePolicy(LeasePolicy policy) {
      this.leasePolicy = policy;
      return this;
    }

    public Builder publishQuietPeriod(Duration quiet) {
      this.publishQuietPeriod = quiet;
      return this;
    }

    public Builder publishMaxDelay(Duration maxDelay) {
      this.publishMaxDelay = maxDelay;
      return this;
    }

    public Builder leaseReapInterval(Duration interval) {
      this.leaseReapInterval = interval;
      return this;
    }

    public Builder hostResolver(HostResolver resolver) {
      this.hostResolver = resolver;
      return this;
    }

    public Builder settingsFile(Path file) {
      this.settingsFile = file;
      return this;
    }

    public Builder settingsPollInterval(Duration interval) {
      this.settingsPollInterval = interval;
      return this;
    }

    public Builder adminAddress(String address) {
      this.adminAddress = address;
      return this;
    }

    public Builder stageTimeout(Duration timeout) {
      this.stageTimeout = timeout;
      return this;
    }

    public Builder xdsLagLimit(Duration limit) {
      this.xdsLagLimit = limit;
      return this;
    }

    public Builder xdsCutoff(Duration cutoff) {
      this.xdsCutoff = cutoff;
      return this;
    }

    public Builder adminPort(int port) {
      this.adminPort = port;
      return this;
    }

    public Builder metricsAddress(String address) {
      this.metricsAddress = address;
      return this;
    }

    public Builder metricsPort(int port) {
      this.metricsPort = port;
      return this;
    }

    public ControlPlaneConfig build() {
      return new ControlPlaneConfig(
          grpcAddress,
          grpcPort,
          gateway,
          leasePolicy,
          publishQuietPeriod,
          publishMaxDelay,
          leaseReapInterval,
          hostResolver,
          Optional.ofNullable(settingsFile),
          settingsPollInterval,
          adminAddress,
          adminPort != null ? adminPort : grpcPort == 0 ? 0 : grpcPort + 1,
          stageTimeout,
          xdsLagLimit,
          xdsCutoff,
          metricsAddress,
          metricsPort != null ? metricsPort : grpcPort == 0 ? 0 : grpcPort + 2,
          Optional.ofNullable(dataDirectory),
          Optional.ofNullable(leaseGrace),
          massExpiry,
          Optional.ofNullable(etcd),
          transport,
          Optional.ofNullable(auditLogFile));
    }
  }
}
