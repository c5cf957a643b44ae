package io.signalbox.server;

import io.signalbox.ca.CaCommand;
import io.signalbox.config.DurationText;
import io.signalbox.config.GatewaySettings;
import io.signalbox.config.InvalidSettingsException;
import io.signalbox.security.TransportSecurity;
import io.signalbox.store.LeasePolicy;
import io.signalbox.store.MassExpiryProtection;
import io.signalbox.store.StoreUnavailableException;
import io.signalbox.store.StoreUnreadableException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code signalbox}: runs the control plane until it is stopped; {@code signalbox ca ...} is {@link
 * CaCommand}.
 */
@Command(
    name = "signalbox",
    mixinStandardHelpOptions = true,
    versionProvider = SignalboxMain.Version.class,
    subcommands = CaCommand.class,
    description =
        "xDS control plane for Envoy, driven by service self-registration. `signalbox ca --help`: a "
            + "development certificate authority for its mutual TLS.")
public final class SignalboxMain implements Callable<Integer> {

  @Option(
      names = "--grpc-address",
      defaultValue = "0.0.0.0",
      description = "Address of the gRPC server (registry API and xDS). Default: ${DEFAULT-VALUE}")
  String grpcAddress;

  @Option(
      names = "--grpc-port",
      defaultValue = "18000",
      description = "Port of the gRPC server (registry API and xDS). Default: ${DEFAULT-VALUE}")
  int grpcPort;

  @Option(
      names = "--admin-address",
      defaultValue = ControlPlaneConfig.DEFAULT_ADMIN_ADDRESS,
      description =
          "Address of the admin API (signalboxctl); it can drain and evict, so keep it private. "
              + "Default: ${DEFAULT-VALUE}")
  String adminAddress;

  @Option(
      names = "--admin-port",
      paramLabel = "PORT",
      description = "Port of the admin API; 0 picks a free one. Default: --grpc-port + 1 (18001)")
  Integer adminPort;

  @Option(
      names = "--metrics-address",
      defaultValue = ControlPlaneConfig.DEFAULT_METRICS_ADDRESS,
      description = "Address of the Prometheus endpoint (GET /metrics). Default: ${DEFAULT-VALUE}")
  String metricsAddress;

  @Option(
      names = "--metrics-port",
      paramLabel = "PORT",
      description =
          "Port of the Prometheus endpoint; 0 picks a free one. Default: --grpc-port + 2 (18002)")
  Integer metricsPort;

  @Option(
      names = "--log-format",
      paramLabel = "text|json",
      defaultValue = "${env:SIGNALBOX_LOG_FORMAT:-text}",
      converter = LogFormatConverter.class,
      description =
          "Log lines as text, or as one JSON object per line with fields such as node_id, group, service "
              + "and version. Default: $SIGNALBOX_LOG_FORMAT, else text")
  LogFormat logFormat;

  @Option(
      names = "--gateway-port",
      defaultValue = "10000",
      description = "Port of Envoy's HTTP listener. Default: ${DEFAULT-VALUE}")
  int gatewayPort;

  @Option(
      names = "--gateway-address",
      defaultValue = "0.0.0.0",
      description = "Address Envoy's HTTP listener binds to. Default: ${DEFAULT-VALUE}")
  String gatewayAddress;

  @Option(
      names = "--lease-ttl",
      defaultValue = "10s",
      converter = DurationConverter.class,
      description = "Default lease TTL (e.g. 10s, 500ms). Default: ${DEFAULT-VALUE}")
  Duration leaseTtl;

  @Option(
      names = "--stage-timeout",
      defaultValue = "2s",
      converter = DurationConverter.class,
      description =
          "Make-before-break: how long a change that adds or removes clusters waits for the Envoys to apply "
              + "each stage (clusters before the routes that use them). 0s sends every change in one step: a new route "
              + "is live ~5 ms sooner, but may answer 503 until its cluster has warmed. Default: ${DEFAULT-VALUE}")
  Duration stageTimeout;

  @Option(
      names = "--xds-lag-limit",
      defaultValue = "500ms",
      converter = DurationConverter.class,
      description =
          "How long a response may go unanswered before its xDS stream counts as lagging: a lagging Envoy (hung, "
              + "paused, not reading) holds no staged change and no quarantine verdict back, and is sent the newest "
              + "configuration when it answers. Default: ${DEFAULT-VALUE}")
  Duration xdsLagLimit;

  @Option(
      names = "--xds-cutoff",
      defaultValue = "30s",
      converter = DurationConverter.class,
      description =
          "How long an xDS stream may lag before the control plane ends it (CANCELLED; a live Envoy reconnects). "
              + "0s never ends one. Default: ${DEFAULT-VALUE}")
  Duration xdsCutoff;

  @Option(
      names = "--data-dir",
      paramLabel = "DIR",
      defaultValue = ".signalbox/data",
      description =
          "Where the registry is kept (one H2 MVStore file, registry.mv.db): registrations, leases and "
              + "drain marks survive a restart or a crash. Created when missing; an unreadable or corrupt store stops the "
              + "start. Default: ${DEFAULT-VALUE} (relative to the working directory)")
  Path dataDirectory;

  @Option(
      names = "--in-memory",
      description =
          "Keep the registry in memory only (no --data-dir): a restart forgets every registration until "
              + "the services register again.")
  boolean inMemory;

  /** Where the registry lives. */
  enum StoreKind {
    embedded,
    etcd
  }

  @Option(
      names = "--store",
      paramLabel = "KIND",
      defaultValue = "embedded",
      description =
          "Where the registry lives: embedded (one file in --data-dir, one control plane) or etcd "
              + "(--etcd-endpoints; several replicas share it). Default: ${DEFAULT-VALUE}")
  StoreKind store;

  /** The --etcd-* flags, and the connection to etcd they make. */
  @Mixin EtcdOptions etcdOptions;

  @Option(
      names = "--lease-grace",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description =
          "After a restart, how long every stored lease lives at least, so that instances can renew "
              + "before anything expires. Default: one TTL of each lease")
  Duration leaseGrace;

  @Option(
      names = "--max-expiry-share",
      paramLabel = "SHARE",
      defaultValue = "0.5",
      description =
          "Mass-expiry protection: when more than this share (0 to 1] of the live leases (and more than 2) "
              + "expire at once, expiry pauses until renewals bring the share back under it; 1 disables the protection. "
              + "Default: ${DEFAULT-VALUE}")
  double maxExpiryShare;

  @Option(
      names = "--config",
      paramLabel = "FILE",
      description =
          "Gateway settings (YAML): listeners, TLS certificates, JWT providers, default policies, limits. "
              + "Reloaded when it or a file it names changes. Without it: one plaintext listener on --gateway-port.")
  Path settingsFile;

  @Option(
      names = "--tls-cert",
      paramLabel = "FILE",
      description =
          "PEM certificate chain of the control plane, served on the gRPC and admin ports (mutual TLS). "
              + "Re-read every second: a rotated certificate serves new connections without a restart.")
  Path tlsCert;

  @Option(
      names = "--tls-key",
      paramLabel = "FILE",
      description = "PEM private key of --tls-cert (never logged)")
  Path tlsKey;

  @Option(
      names = "--tls-ca",
      paramLabel = "FILE",
      description =
          "PEM CA bundle that client certificates (services, Envoys, operators) must chain to")
  Path tlsCa;

  @Option(
      names = "--insecure-plaintext",
      description =
          "Serve the registry API, xDS and the admin API WITHOUT TLS: anyone who connects may register "
              + "routes, read private keys and evict services. For a development machine only.")
  boolean insecurePlaintext;

  @Option(
      names = "--audit-log",
      paramLabel = "FILE",
      description =
          "Append the audit log (one JSON line per registration, deregistration and admin call: who, what, "
              + "when, outcome) to FILE, created owner-only. Always also logged to the signalbox.audit logger.")
  Path auditLog;

  @Override
  public Integer call() throws InterruptedException {
    logFormat.apply();
    TransportSecurity transport;
    try {
      transport = transportSecurity();
    } catch (IllegalArgumentException e) {
      System.err.println("signalbox: " + e.getMessage());
      return 2;
    }
    ControlPlaneConfig.Builder config =
        ControlPlaneConfig.builder()
            .transport(transport)
            .grpcAddress(grpcAddress)
            .grpcPort(grpcPort)
            .adminAddress(adminAddress)
            .metricsAddress(metricsAddress)
            .gateway(GatewaySettings.plaintext(gatewayAddress, gatewayPort))
            .leasePolicy(LeasePolicy.withDefault(leaseTtl))
            .stageTimeout(stageTimeout)
            .xdsLagLimit(xdsLagLimit)
            .xdsCutoff(xdsCutoff)
            .massExpiry(
                new MassExpiryProtection(maxExpiryShare, MassExpiryProtection.DEFAULT.floor()));
    if (store == StoreKind.etcd) {
      if (etcdOptions.etcdEndpoints == null || etcdOptions.etcdEndpoints.isEmpty()) {
        System.err.println(
            "signalbox: --store etcd needs --etcd-endpoints (e.g. http://127.0.0.1:2379)");
        return 2;
      }
      try {
        config.etcd(etcdOptions.etcdConnection());
      } catch (IllegalArgumentException e) {
        System.err.println("signalbox: " + e.getMessage());
        return 2;
      }
    } else if (etcdOptions.etcdEndpoints != null && !etcdOptions.etcdEndpoints.isEmpty()) {
      System.err.println("signalbox: --etcd-endpoints is only used with --store etcd");
      return 2;
    } else if (etcdOptions.etcdFlagGiven() != null) {
      System.err.println(
          "signalbox: " + etcdOptions.etcdFlagGiven() + " is only used with --store etcd");
      return 2;
    } else if (!inMemory) {
      config.dataDirectory(dataDirectory);
    }
    if (leaseGrace != null) {
      config.leaseGrace(leaseGrace);
    }
    if (settingsFile != null) {
      config.settingsFile(settingsFile);
    }
    if (auditLog != null) {
      config.auditLogFile(auditLog);
    }
    if (adminPort != null) {
      config.adminPort(adminPort);
    }
    if (metricsPort != null) {
      config.metricsPort(metricsPort);
    }
    ControlPlane controlPlane;
    try {
      controlPlane = ControlPlane.start(config.build());
    } catch (InvalidSettingsException e) {
      System.err.println(
          "signalbox: invalid gateway settings " + settingsFile + ": " + e.getMessage());
      return 2;
    } catch (StoreUnavailableException e) {
      System.err.println(
          "signalbox: cannot read the registry from etcd "
              + etcdOptions.etcdEndpoints
              + ": "
              + e.getMessage()
              + ". Refusing to start with an empty registry.");
      return 2;
    } catch (StoreUnreadableException e) {
      System.err.println(
          "signalbox: "
              + e.getMessage()
              + ". Refusing to start with an empty registry: that would "
              + "withdraw every route from the gateway. Restore the file from a backup, or move it away to start empty.");
      return 2;
    } catch (java.io.UncheckedIOException e) {
      System.err.println("signalbox: " + e.getMessage() + ": " + e.getCause().getMessage());
      return 1;
    } catch (IllegalArgumentException e) {
      // TLS files that cannot be loaded (named, with the reason; never their contents).
      System.err.println("signalbox: " + e.getMessage());
      return 2;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(controlPlane::close, "signalbox-shutdown"));
    controlPlane.awaitTermination();
    return 0;
  }

  /**
   * Mutual TLS from --tls-cert/--tls-key/--tls-ca, or plaintext when --insecure-plaintext says so;
   * nothing else.
   *
   * @throws IllegalArgumentException naming the flags, when neither or both are chosen or a file is
   *     missing
   */
  TransportSecurity transportSecurity() {
    boolean anyTls = tlsCert != null || tlsKey != null || tlsCa != null;
    if (insecurePlaintext && anyTls) {
      throw new IllegalArgumentException(
          "--insecure-plaintext and --tls-cert/--tls-key/--tls-ca exclude each other");
    }
    if (insecurePlaintext) {
      return TransportSecurity.plaintext();
    }
    if (!anyTls) {
      throw new IllegalArgumentException(
          "no TLS configured: give --tls-cert, --tls-key and --tls-ca (mutual TLS on "
              + "the registry, xDS and admin ports), or --insecure-plaintext to run without authentication on a "
              + "development machine");
    }
    if (tlsCert == null || tlsKey == null || tlsCa == null) {
      throw new IllegalArgumentException(
          "mutual TLS needs all three of --tls-cert, --tls-key and --tls-ca; missing: "
              + (tlsCert == null ? "--tls-cert " : "")
              + (tlsKey == null ? "--tls-key " : "")
              + (tlsCa == null ? "--tls-ca" : "").trim());
    }
    return TransportSecurity.mutualTls(
        readable("--tls-cert", tlsCert),
        readable("--tls-key", tlsKey),
        readable("--tls-ca", tlsCa));
  }

  /** {@code file}, when it can be read; else why not, naming {@code flag}. */
  static Path readable(String flag, Path file) {
    if (Files.isDirectory(file) || !Files.isReadable(file)) {
      String why =
          !Files.exists(file)
              ? "no such file"
              : Files.isDirectory(file) ? "a directory" : "permission denied";
      throw new IllegalArgumentException(flag + ": cannot read " + file + " (" + why + ")");
    }
    return file;
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new SignalboxMain()).execute(args));
  }

  /** The release, from the jar's manifest; a build run from its classes has none. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = SignalboxMain.class.getPackage().getImplementationVersion();
      return new String[] {"signalbox " + (version == null ? "(development build)" : version)};
    }
  }

  /** "text" or "json", in any case. */
  public static final class LogFormatConverter implements CommandLine.ITypeConverter<LogFormat> {
    @Override
    public LogFormat convert(String value) {
      for (LogFormat format : LogFormat.values()) {
        if (format.appenderName().equalsIgnoreCase(value.trim())) {
          return format;
        }
      }
      throw new CommandLine.TypeConversionException(
          "'" + value + "' is not a log format: use text or json");
    }
  }

  /** Accepts "10s", "500ms", "2m" as well as ISO-8601 "PT10S" (see {@link DurationText}). */
  public static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      try {
        return DurationText.parse(value);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException(e.getMessage());
      }
    }
  }
}
