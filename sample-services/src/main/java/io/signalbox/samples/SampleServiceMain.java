package io.signalbox.samples;

import io.signalbox.client.AuthSpec;
import io.signalbox.client.RateLimitSpec;
import io.signalbox.client.Registration;
import io.signalbox.client.RegistrationException;
import io.signalbox.client.RegistryClient;
import io.signalbox.client.RouteSpec;
import io.signalbox.client.Routes;
import io.signalbox.client.ServiceRegistration;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Runs one {@link EchoService} instance (or with {@code --grpc} one {@link GreeterService}) and
 * registers it with the control plane until the process is terminated; the SDK's shutdown hook
 * deregisters it on SIGTERM or Ctrl-C.
 */
@Command(
    name = "sample-service",
    mixinStandardHelpOptions = true,
    description =
        "Runs an echo HTTP service instance (or a gRPC one) that registers itself with Signalbox.")
public final class SampleServiceMain implements Callable<Integer> {

  @Option(names = "--service", required = true, description = "Service name, e.g. users or orders.")
  private String service;

  @Option(
      names = "--instance-id",
      description = "Instance id (default: <service>-<4 random hex digits>).")
  private String instanceId;

  @Option(
      names = "--host",
      defaultValue = "127.0.0.1",
      description = "Address to listen on (default: ${DEFAULT-VALUE}).")
  private String host;

  @Option(
      names = "--advertise-host",
      description = "Address Envoy should use to reach this instance (default: the --host value).")
  private String advertiseHost;

  @Option(
      names = "--port",
      defaultValue = "0",
      description = "Port to listen on; 0 picks a free one (default).")
  private int port;

  @Option(
      names = "--control-plane",
      defaultValue = "127.0.0.1:18000",
      description = "Registry address of the control plane (default: ${DEFAULT-VALUE}).")
  private String controlPlane;

  @Option(
      names = "--tls-cert",
      paramLabel = "FILE",
      defaultValue = "${env:SIGNALBOX_CERT}",
      description =
          "PEM certificate of this service for a control plane on mutual TLS, e.g. with URI SAN "
              + "spiffe://signalbox.local/service/<service> (env SIGNALBOX_CERT). Re-read when rotated.")
  private Path tlsCert;

  @Option(
      names = "--tls-key",
      paramLabel = "FILE",
      defaultValue = "${env:SIGNALBOX_KEY}",
      description = "PEM private key of --tls-cert (env SIGNALBOX_KEY).")
  private Path tlsKey;

  @Option(
      names = "--tls-ca",
      paramLabel = "FILE",
      defaultValue = "${env:SIGNALBOX_CA}",
      description =
          "PEM CA bundle the control plane's certificate must chain to (env SIGNALBOX_CA). Without "
              + "the three TLS options the service registers in plaintext (--insecure-plaintext control planes).")
  private Path tlsCa;

  @Option(names = "--prefix", description = "Route path prefix (default: /<service>).")
  private String prefix;

  @Option(names = "--ttl", description = "Lease TTL in seconds (default: the control plane's).")
  private Integer ttlSeconds;

  @Option(
      names = "--jwt-provider",
      description = "Require a JWT from this provider of the gateway settings on the route.")
  private String jwtProvider;

  @Option(
      names = "--forward-claim",
      paramLabel = "CLAIM=HEADER",
      description = "With --jwt-provider: copy a token claim into a request header (repeatable).")
  private java.util.Map<String, String> forwardClaims = new java.util.LinkedHashMap<>();

  @Option(
      names = "--rate-limit",
      paramLabel = "N/UNIT",
      description = "Limit the route to N requests per second, minute or hour, e.g. 10/minute.")
  private String rateLimit;

  @Option(
      names = "--rate-limit-global",
      description =
          "With --rate-limit: the limit holds across all Envoys together (default: per Envoy).")
  private boolean rateLimitGlobal;

  @Option(
      names = "--sidecar-port",
      description =
          "Sidecar mode: the port of this instance's sidecar Envoy (its inbound listener), which is"
              + " registered as the instance's port; the application's own port becomes its"
              + " application_port.")
  private Integer sidecarPort;

  @Option(
      names = "--calls",
      description =
          "Sidecar mode: a service this one calls (repeatable); its sidecars get only those.")
  private java.util.List<String> calls = new java.util.ArrayList<>();

  @Option(
      names = "--allowed-caller",
      description =
          "Sidecar mode: a service name or SPIFFE ID that may call this service (repeatable);"
              + " default every workload of the mesh.")
  private java.util.List<String> allowedCallers = new java.util.ArrayList<>();

  @Option(
      names = "--grpc",
      description =
          "Serve the gRPC sample (signalbox.samples.v1.Greeter: SayHello, and SayHellos streaming)"
              + " instead of the HTTP echo, registered with upstream_protocol GRPC under its"
              + " method prefix (--prefix is ignored).")
  private boolean grpc;

  public static void main(String[] args) {
    System.exit(new CommandLine(new SampleServiceMain()).execute(args));
  }

  @Override
  public Integer call() throws InterruptedException {
    String id = instanceId != null ? instanceId : service + "-" + randomSuffix();
    RegistryClient.Builder clientBuilder = RegistryClient.builder().target(controlPlane);
    if (tlsCert != null || tlsKey != null || tlsCa != null) {
      if (tlsCert == null || tlsKey == null || tlsCa == null) {
        System.err.println(
            "Mutual TLS needs all three of --tls-cert, --tls-key and --tls-ca "
                + "(or SIGNALBOX_CERT, SIGNALBOX_KEY, SIGNALBOX_CA)");
        return 2;
      }
      clientBuilder.mutualTls(tlsCert, tlsKey, tlsCa);
    }
    RegistryClient client;
    try {
      client = clientBuilder.build();
    } catch (IllegalArgumentException e) {
      // The file and the reason; never a key's contents.
      System.err.println("Cannot use the TLS files: " + e.getMessage());
      return 2;
    }
    AutoCloseable server;
    int boundPort;
    if (grpc) {
      GreeterService greeter = GreeterService.start(id, host, port);
      server = greeter;
      boundPort = greeter.port();
    } else {
      EchoService echo = EchoService.start(service, id, host, port);
      server = echo;
      boundPort = echo.port();
    }
    Registration registration;
    try {
      registration = client.register(registration(id, boundPort));
    } catch (RegistrationException e) {
      System.err.println("Registration failed: " + e.getMessage());
      client.close();
      try {
        server.close();
      } catch (Exception closing) {
        e.addSuppressed(closing);
      }
      return 1;
    }
    System.out.printf(
        "%s instance %s listening on %s:%d, registered%s with lease %s%n",
        service,
        id,
        host,
        boundPort,
        tlsCert != null ? " over mutual TLS" : "",
        registration.leaseId());
    System.out.flush();
    // Nothing more to do on this thread: serving happens on the server's threads, keep-alives on
    // the client's.
    new CountDownLatch(1).await();
    return 0;
  }

  private ServiceRegistration registration(String id, int boundPort) {
    RouteSpec route =
        Routes.prefix(grpc ? GreeterService.ROUTE_PREFIX : prefix != null ? prefix : "/" + service);
    if (jwtProvider != null) {
      AuthSpec auth = AuthSpec.jwt(jwtProvider);
      for (var forward : forwardClaims.entrySet()) {
        auth = auth.forwardClaim(forward.getKey(), forward.getValue());
      }
      route = route.auth(auth);
    }
    if (rateLimit != null) {
      RateLimitSpec limit = parseRateLimit(rateLimit);
      route = route.rateLimit(rateLimitGlobal ? limit.global() : limit);
    }
    String advertised = advertiseHost != null ? advertiseHost : host;
    ServiceRegistration.Builder builder =
        sidecarPort == null
            ? ServiceRegistration.builder(service).instance(id, advertised, boundPort)
            : ServiceRegistration.builder(service)
                .instance(id, advertised, sidecarPort)
                .applicationPort(boundPort);
    builder.route(route);
    if (grpc) {
      builder.protocol(io.signalbox.registry.v1.UpstreamProtocol.GRPC);
    }
    calls.forEach(builder::calls);
    allowedCallers.forEach(builder::allowedCaller);
    if (ttlSeconds != null) {
      builder.leaseTtl(Duration.ofSeconds(ttlSeconds));
    }
    return builder.build();
  }

  private static RateLimitSpec parseRateLimit(String text) {
    String[] parts = text.split("/", 2);
    if (parts.length != 2) {
      throw new CommandLine.ParameterException(
          new CommandLine(new SampleServiceMain()),
          "--rate-limit must look like 10/minute, not '" + text + "'");
    }
    int requests = Integer.parseInt(parts[0].trim());
    return switch (parts[1].trim().toLowerCase(java.util.Locale.ROOT)) {
      case "s", "second" -> RateLimitSpec.perSecond(requests);
      case "m", "minute" -> RateLimitSpec.perMinute(requests);
      case "h", "hour" -> RateLimitSpec.perHour(requests);
      default ->
          throw new CommandLine.ParameterException(
              new CommandLine(new SampleServiceMain()),
              "--rate-limit unit must be second, minute or hour, not '" + parts[1] + "'");
    };
  }

  private static String randomSuffix() {
    return HexFormat.of().toHexDigits((short) ThreadLocalRandom.current().nextInt(0x10000));
  }
}
