package io.signalbox.bench;

import com.google.protobuf.Duration;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.signalbox.config.GatewaySettings;
import io.signalbox.config.JwtProviderSpec;
import io.signalbox.registry.v1.AuthPolicy;
import io.signalbox.registry.v1.Instance;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.RateLimitPolicy;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.RegistryGrpc;
import io.signalbox.registry.v1.Route;
import io.signalbox.samples.EchoService;
import io.signalbox.server.ControlPlane;
import io.signalbox.server.ControlPlaneConfig;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.FreePorts;
import io.signalbox.testing.HttpProbe;
import io.signalbox.testing.LoopbackUpstreams;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * What the gateway policies cost: requests per second through one Envoy on a route with JWT
 * authentication and a local rate limit (set far above the load) against the same kind of route
 * without policies, in the same run, alternating so that drift hits both alike. Load comes from
 * {@code hey} (installed by bench/run.sh).
 */
@Command(
    name = "policy-throughput",
    mixinStandardHelpOptions = true,
    description =
        "Requests/s through Envoy: JWT + local rate limit vs. no policy (same run, alternating).")
final class PolicyThroughput implements Callable<Integer> {

  private static final Pattern RPS = Pattern.compile("Requests/sec:\\s+([0-9.]+)");

  /** hey prints "50%% in ..." (a doubled percent sign), older builds "50% in ...". */
  private static final Pattern P50 = Pattern.compile("50%+ in ([0-9.]+) secs");

  private static final Pattern P99 = Pattern.compile("99%+ in ([0-9.]+) secs");
  private static final Pattern STATUS = Pattern.compile("\\[(\\d{3})]\\s+(\\d+) responses");

  @Option(
      names = "--seconds",
      defaultValue = "10",
      description = "Length of each measured run. Default: ${DEFAULT-VALUE}")
  int seconds;

  @Option(
      names = "--rounds",
      defaultValue = "3",
      description = "Alternating rounds (plain, policy) measured. Default: ${DEFAULT-VALUE}")
  int rounds;

  @Option(
      names = "--connections",
      defaultValue = "16",
      description = "Concurrent client connections (hey -c). Default: ${DEFAULT-VALUE}")
  int connections;

  @Override
  public Integer call() throws Exception {
    String hey = System.getenv().getOrDefault("HEY_BIN", "hey");
    System.out.println("PolicyThroughput: " + Jvm.describeHost());
    System.out.printf(
        "seconds=%d rounds=%d connections=%d load=%s%n", seconds, rounds, connections, hey);
    RSAKey key = new RSAKeyGenerator(2048).keyID("bench").generate();
    try (Cleanup cleanup = new Cleanup()) {
      int gatewayPort = FreePorts.allocate();
      GatewaySettings settings =
          LoopbackUpstreams.allowedIn(GatewaySettings.plaintext("127.0.0.1", gatewayPort))
              .toBuilder()
              .jwtProvider(
                  JwtProviderSpec.builder("bench", "https://bench.signalbox.local")
                      .audiences("bench")
                      .jwks(
                          new JwtProviderSpec.InlineJwks(new JWKSet(key.toPublicJWK()).toString()))
                      .build())
              .build();
      EchoService backend = cleanup.add(EchoService.start("backend", "backend-1", "127.0.0.1", 0));
      ControlPlane controlPlane =
          cleanup.add(
              ControlPlane.start(
                  ControlPlaneConfig.builder()
                      .transport(io.signalbox.security.TransportSecurity.plaintext())
                      .grpcAddress("127.0.0.1")
                      .grpcPort(0)
                      .gateway(settings)
                      .build()));
      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", controlPlane.grpcPort())
              .usePlaintext()
              .build();
      cleanup.add(channel::shutdownNow);
      RegistryGrpc.RegistryBlockingStub registry = RegistryGrpc.newBlockingStub(channel);
      registry.register(registration("plain", backend.port(), Route.newBuilder()));
      registry.register(
          registration(
              "guarded",
              backend.port(),
              Route.newBuilder()
                  .setAuth(AuthPolicy.newBuilder().setProvider("bench"))
                  .setRateLimit(
                      RateLimitPolicy.newBuilder()
                          .setRequests(1_000_000)
                          .setUnit(RateLimitPolicy.Unit.SECOND))));
      EnvoyProcess envoy =
          cleanup.add(
              EnvoyProcess.builder()
                  .nodeId("bench-edge-1")
                  .nodeCluster("edge")
                  .xdsPort(controlPlane.grpcPort())
                  .logLevel("warning")
                  .start());
      envoy.awaitReady(java.time.Duration.ofSeconds(30));
      String token = token(key);
      String base = "http://127.0.0.1:" + gatewayPort;
      HttpProbe.awaitStatus(base + "/plain", 200, java.time.Duration.ofSeconds(10));
      HttpProbe.awaitStatus(base + "/guarded", 401, java.time.Duration.ofSeconds(10));

      // Warm both paths (JIT of the echo backend, Envoy's connection pools).
      run(hey, base + "/plain", null, 3);
      run(hey, base + "/guarded", token, 3);
      List<Result> plain = new ArrayList<>();
      List<Result> guarded = new ArrayList<>();
      for (int round = 1; round <= rounds; round++) {
        Result p = run(hey, base + "/plain", null, seconds);
        Result g = run(hey, base + "/guarded", token, seconds);
        System.out.printf(
            "round %d: no policy %.0f req/s (p50 %.2f ms, p99 %.2f ms) | JWT + local limit %.0f req/s "
                + "(p50 %.2f ms, p99 %.2f ms)%n",
            round, p.rps, p.p50Ms, p.p99Ms, g.rps, g.p50Ms, g.p99Ms);
        check(p, "no policy");
        check(g, "JWT + local limit");
        plain.add(p);
        guarded.add(g);
      }
      double plainRps = plain.stream().mapToDouble(Result::rps).average().orElseThrow();
      double guardedRps = guarded.stream().mapToDouble(Result::rps).average().orElseThrow();
      System.out.printf(
          "%nmean over %d rounds: no policy %.0f req/s, JWT + local limit %.0f req/s, ratio %.3f%n",
          rounds, plainRps, guardedRps, guardedRps / plainRps);
    }
    return 0;
  }

  private record Result(double rps, double p50Ms, double p99Ms, Map<Integer, Long> statuses) {}

  private static void check(Result result, String label) {
    if (result.statuses.keySet().stream().anyMatch(status -> status != 200)) {
      throw new IllegalStateException(
          label + " answered other statuses than 200: " + result.statuses);
    }
  }

  private Result run(String hey, String url, String token, int durationSeconds)
      throws IOException, InterruptedException {
    List<String> command =
        new ArrayList<>(
            List.of(
                hey,
                "-z",
                durationSeconds + "s",
                "-c",
                Integer.toString(connections),
                "-disable-compression"));
    if (token != null) {
      command.addAll(List.of("-H", "authorization: Bearer " + token));
    }
    command.add(url);
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(durationSeconds + 30L, TimeUnit.SECONDS) || process.exitValue() != 0) {
      throw new IllegalStateException("hey failed:\n" + output);
    }
    Map<Integer, Long> statuses = new java.util.TreeMap<>();
    Matcher status = STATUS.matcher(output);
    while (status.find()) {
      statuses.put(Integer.parseInt(status.group(1)), Long.parseLong(status.group(2)));
    }
    return new Result(
        number(RPS, output), number(P50, output) * 1000, number(P99, output) * 1000, statuses);
  }

  private static double number(Pattern pattern, String output) {
    Matcher matcher = pattern.matcher(output);
    if (!matcher.find()) {
      throw new IllegalStateException("no " + pattern + " in hey's output:\n" + output);
    }
    return Double.parseDouble(matcher.group(1));
  }

  private static RegisterRequest registration(String service, int port, Route.Builder route) {
    return RegisterRequest.newBuilder()
        .setService(service)
        .setInstance(Instance.newBuilder().setId(service + "-1").setHost("127.0.0.1").setPort(port))
        .addRoutes(route.setPath(PathMatch.newBuilder().setPrefix("/" + service)))
        .setLeaseTtl(Duration.newBuilder().setSeconds(300))
        .build();
  }

  private static String token(RSAKey key) throws Exception {
    Instant now = Instant.now();
    SignedJWT jwt =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).build(),
            new JWTClaimsSet.Builder()
                .issuer("https://bench.signalbox.local")
                .audience("bench")
                .subject("bench")
                .issueTime(Date.from(now))
                .expirationTime(Date.from(now.plusSeconds(3600)))
                .build());
    jwt.sign(new RSASSASigner(key));
    return jwt.serialize();
  }
}
