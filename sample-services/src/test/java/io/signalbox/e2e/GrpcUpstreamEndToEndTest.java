package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.util.Durations;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.signalbox.client.Routes;
import io.signalbox.client.ServiceRegistration;
import io.signalbox.registry.v1.HealthCheck;
import io.signalbox.registry.v1.TrafficPolicy;
import io.signalbox.registry.v1.UpstreamProtocol;
import io.signalbox.samples.GreeterService;
import io.signalbox.samples.v1.GreeterGrpc;
import io.signalbox.samples.v1.HelloReply;
import io.signalbox.samples.v1.HelloRequest;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A gRPC service registered with {@code upstream_protocol: GRPC} is served through Envoy: a gRPC
 * client on the gateway's port makes unary and server-streaming calls to it (the standard gRPC
 * health service: Check and Watch). Registered as HTTP/1.1, the same service cannot be reached:
 * Envoy would speak HTTP/1.1 to it.
 */
@ExtendWith(EnvoyLogsOnFailure.class)
class GrpcUpstreamEndToEndTest {

  private static final Duration REACHES_ENVOY = Duration.ofSeconds(10);
  private static final String HEALTH_ROUTE = "/grpc.health.v1.Health/";

  @ParameterizedTest
  @EnumSource(EnvoyProcess.XdsMode.class)
  void unaryAndServerStreamingCallsReachAGrpcServiceThroughEnvoy(EnvoyProcess.XdsMode mode)
      throws Exception {
    HealthStatusManager health = new HealthStatusManager();
    Server backend = grpcServer(health);
    try (GatewayFixture gateway = GatewayFixture.start(mode)) {
      health.setStatus("greeter", ServingStatus.SERVING);
      gateway.register(
          ServiceRegistration.builder("greeter")
              .instance("greeter-1", "127.0.0.1", backend.getPort())
              .protocol(UpstreamProtocol.GRPC)
              .route(Routes.prefix(HEALTH_ROUTE))
              .build());
      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", gateway.gatewayPort()).usePlaintext().build();
      try {
        HealthGrpc.HealthBlockingStub stub = HealthGrpc.newBlockingStub(channel);
        awaitGreeterServing(stub);

        Iterator<HealthCheckResponse> watch =
            stub.withDeadlineAfter(10, TimeUnit.SECONDS)
                .watch(HealthCheckRequest.newBuilder().setService("greeter").build());
        assertThat(watch.next().getStatus()).isEqualTo(ServingStatus.SERVING);
        health.setStatus("greeter", ServingStatus.NOT_SERVING);
        assertThat(watch.next().getStatus())
            .as("the second message of the stream, sent after the status changed")
            .isEqualTo(ServingStatus.NOT_SERVING);
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    } finally {
      backend.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @ParameterizedTest
  @EnumSource(EnvoyProcess.XdsMode.class)
  void theGrpcSampleServiceAnswersUnaryAndStreamingCallsThroughEnvoy(EnvoyProcess.XdsMode mode)
      throws Exception {
    try (GatewayFixture gateway = GatewayFixture.start(mode);
        GreeterService greeter = GreeterService.start("greeter-1", "127.0.0.1", 0)) {
      registerGreeter(gateway, "greeter", "greeter-1", greeter, UpstreamProtocol.GRPC);
      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", gateway.gatewayPort()).usePlaintext().build();
      try {
        GreeterGrpc.GreeterBlockingStub stub = GreeterGrpc.newBlockingStub(channel);
        HelloReply hello = firstHello(stub, "gateway");
        assertThat(hello.getMessage()).isEqualTo("Hello, gateway");
        assertThat(hello.getInstance()).isEqualTo("greeter-1");

        Iterator<HelloReply> stream =
            stub.withDeadlineAfter(10, TimeUnit.SECONDS)
                .sayHellos(
                    HelloRequest.newBuilder()
                        .setName("stream")
                        .setCount(5)
                        .setIntervalMillis(100)
                        .build());
        List<Integer> sequence = new java.util.ArrayList<>();
        stream.forEachRemaining(reply -> sequence.add(reply.getSequence()));
        assertThat(sequence)
            .as("five messages, in order, then the end")
            .containsExactly(1, 2, 3, 4, 5);
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void anHttp2ServiceIsCalledOverH2c() throws Exception {
    // gRPC is HTTP/2 underneath, so the greeter stands in for any HTTP/2 (h2c) service: registered
    // as HTTP2, Envoy speaks cleartext HTTP/2 to it (as HTTP1 it could not be reached at all).
    try (GatewayFixture gateway = GatewayFixture.start(EnvoyProcess.XdsMode.DELTA);
        GreeterService greeter = GreeterService.start("h2-1", "127.0.0.1", 0)) {
      registerGreeter(gateway, "h2-api", "h2-1", greeter, UpstreamProtocol.HTTP2);
      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", gateway.gatewayPort()).usePlaintext().build();
      try {
        HelloReply hello = firstHello(GreeterGrpc.newBlockingStub(channel), "h2c");
        assertThat(hello.getInstance()).isEqualTo("h2-1");
        assertThat(gateway.envoy().statValue("cluster.svc-h2-api.upstream_cx_http2_total"))
            .as("connections to the instance spoke HTTP/2")
            .isPositive();
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void aStreamLivesAsLongAsItsCallersDeadlineAndWithoutOneAsLongAsTheRoutesTimeout()
      throws Exception {
    HealthStatusManager health = new HealthStatusManager();
    Server backend = grpcServer(health);
    try (GatewayFixture gateway = GatewayFixture.start(EnvoyProcess.XdsMode.DELTA)) {
      health.setStatus("greeter", ServingStatus.SERVING);
      gateway.register(
          ServiceRegistration.builder("greeter")
              .instance("greeter-1", "127.0.0.1", backend.getPort())
              .protocol(UpstreamProtocol.GRPC)
              .route(Routes.prefix(HEALTH_ROUTE).timeout(Duration.ofSeconds(1)))
              .build());
      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", gateway.gatewayPort()).usePlaintext().build();
      try {
        HealthGrpc.HealthBlockingStub stub = HealthGrpc.newBlockingStub(channel);
        HealthCheckRequest greeter = HealthCheckRequest.newBuilder().setService("greeter").build();
        awaitGreeterServing(stub);

        // A deadline of 6 s: the stream outlives the route's 1 s timeout.
        Iterator<HealthCheckResponse> withDeadline =
            stub.withDeadlineAfter(6, TimeUnit.SECONDS).watch(greeter);
        assertThat(withDeadline.next().getStatus()).isEqualTo(ServingStatus.SERVING);
        Thread.sleep(2_000);
        health.setStatus("greeter", ServingStatus.NOT_SERVING);
        assertThat(withDeadline.next().getStatus())
            .as("a message sent 2 s into the stream, past the route's timeout")
            .isEqualTo(ServingStatus.NOT_SERVING);

        // Without a deadline, the route's timeout bounds the call, as it bounds an HTTP request.
        Iterator<HealthCheckResponse> withoutDeadline = stub.watch(greeter);
        assertThat(withoutDeadline.next().getStatus()).isEqualTo(ServingStatus.NOT_SERVING);
        long started = System.nanoTime();
        assertThatThrownBy(withoutDeadline::next).isInstanceOf(StatusRuntimeException.class);
        assertThat(Duration.ofNanos(System.nanoTime() - started))
            .as("ended by Envoy at the route's timeout")
            .isLessThan(Duration.ofSeconds(5));
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    } finally {
      backend.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @ParameterizedTest
  @EnumSource(EnvoyProcess.XdsMode.class)
  void registeredAsHttp1TheSameServiceIsNotReachable(EnvoyProcess.XdsMode mode) throws Exception {
    HealthStatusManager health = new HealthStatusManager();
    Server backend = grpcServer(health);
    try (GatewayFixture gateway = GatewayFixture.start(mode)) {
      gateway.register(
          ServiceRegistration.builder("greeter")
              .instance("greeter-1", "127.0.0.1", backend.getPort())
              .route(Routes.prefix(HEALTH_ROUTE))
              .build());
      gateway.serve("marker", "marker-1", Routes.prefix("/marker"));
      // Registered after greeter: once it answers, Envoy has greeter's route too.
      io.signalbox.testing.HttpProbe.awaitStatus(gateway.url("/marker"), 200, REACHES_ENVOY);
      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", gateway.gatewayPort()).usePlaintext().build();
      try {
        assertThatThrownBy(
                () ->
                    HealthGrpc.newBlockingStub(channel)
                        .withDeadlineAfter(2, TimeUnit.SECONDS)
                        .check(HealthCheckRequest.getDefaultInstance()))
            .isInstanceOf(StatusRuntimeException.class)
            .hasMessageContaining("UNAVAILABLE");
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    } finally {
      backend.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /**
   * Two instances of a gRPC service, told apart by the health service names each knows (who-a,
   * who-b): once one reports NOT_SERVING for the server as a whole, or stops, Envoy's gRPC health
   * check takes it out, and every call reaches the other, without either deregistering.
   */
  @Test
  void aGrpcHealthCheckTakesAnInstanceThatReportsNotServingOut() throws Exception {
    HealthStatusManager healthA = new HealthStatusManager();
    HealthStatusManager healthB = new HealthStatusManager();
    healthA.setStatus("who-a", ServingStatus.SERVING);
    healthB.setStatus("who-b", ServingStatus.SERVING);
    Server a = grpcServer(healthA);
    Server b = grpcServer(healthB);
    try (GatewayFixture gateway = GatewayFixture.start(EnvoyProcess.XdsMode.DELTA)) {
      for (Server server : List.of(a, b)) {
        gateway.register(
            ServiceRegistration.builder("greeter")
                .instance("greeter-" + server.getPort(), "127.0.0.1", server.getPort())
                .protocol(UpstreamProtocol.GRPC)
                .route(Routes.prefix(HEALTH_ROUTE))
                .traffic(
                    TrafficPolicy.newBuilder()
                        .setHealthCheck(
                            HealthCheck.newBuilder()
                                .setGrpcService("")
                                .setInterval(Durations.fromMillis(200))
                                .setUnhealthyThreshold(1))
                        .build())
                .build());
      }
      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", gateway.gatewayPort()).usePlaintext().build();
      try {
        HealthGrpc.HealthBlockingStub stub = HealthGrpc.newBlockingStub(channel);
        await()
            .atMost(REACHES_ENVOY)
            .until(() -> answersOfB(stub, 20).containsAll(List.of("SERVING", "NOT_FOUND")));

        healthA.setStatus("", ServingStatus.NOT_SERVING);
        await()
            .atMost(Duration.ofSeconds(5))
            .until(() -> answersOfB(stub, 20).equals(java.util.Set.of("SERVING")));
        assertThat(answersOfB(stub, 50)).containsExactly("SERVING");

        // Back in, then stopped outright: the check takes it out again while its lease lives.
        healthA.setStatus("", ServingStatus.SERVING);
        await()
            .atMost(Duration.ofSeconds(5))
            .until(() -> answersOfB(stub, 20).containsAll(List.of("SERVING", "NOT_FOUND")));
        int portOfA = a.getPort();
        a.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        await()
            .atMost(Duration.ofSeconds(5))
            .until(() -> answersOfB(stub, 20).equals(java.util.Set.of("SERVING")));
        assertThat(answersOfB(stub, 50)).containsExactly("SERVING");
        assertThat(gateway.controlPlane().publisher().current().endpoints().resources())
            .as("the stopped instance is still registered: its lease lives")
            .hasEntrySatisfying(
                "svc-greeter",
                assignment -> assertThat(assignment.toString()).contains("port_value: " + portOfA));
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    } finally {
      a.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      b.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** The greeter sample as {@code service}, under its method prefix. */
  private static void registerGreeter(
      GatewayFixture gateway,
      String service,
      String instanceId,
      GreeterService greeter,
      UpstreamProtocol protocol) {
    gateway.register(
        ServiceRegistration.builder(service)
            .instance(instanceId, "127.0.0.1", greeter.port())
            .protocol(protocol)
            .route(Routes.prefix(GreeterService.ROUTE_PREFIX))
            .build());
  }

  /** The first greeting through Envoy, once it routes to the greeter. */
  private static HelloReply firstHello(GreeterGrpc.GreeterBlockingStub stub, String name) {
    return await()
        .atMost(REACHES_ENVOY)
        .ignoreExceptions()
        .until(
            () ->
                stub.withDeadlineAfter(1, TimeUnit.SECONDS)
                    .sayHello(HelloRequest.newBuilder().setName(name).build()),
            reply -> reply != null);
  }

  /** Until a health check of "greeter" through Envoy answers SERVING. */
  private static void awaitGreeterServing(HealthGrpc.HealthBlockingStub stub) {
    await()
        .atMost(REACHES_ENVOY)
        .ignoreExceptions()
        .until(
            () ->
                stub.withDeadlineAfter(1, TimeUnit.SECONDS)
                        .check(HealthCheckRequest.newBuilder().setService("greeter").build())
                        .getStatus()
                    == ServingStatus.SERVING);
  }

  private static Server grpcServer(HealthStatusManager health) throws java.io.IOException {
    return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(health.getHealthService())
        .build()
        .start();
  }

  /** What {@code calls} health checks of "who-b" answer: SERVING from b, NOT_FOUND from a. */
  private static java.util.Set<String> answersOfB(HealthGrpc.HealthBlockingStub stub, int calls) {
    java.util.Set<String> answers = new java.util.TreeSet<>();
    for (int i = 0; i < calls; i++) {
      try {
        answers.add(
            stub.withDeadlineAfter(2, TimeUnit.SECONDS)
                .check(HealthCheckRequest.newBuilder().setService("who-b").build())
                .getStatus()
                .name());
      } catch (StatusRuntimeException e) {
        answers.add(e.getStatus().getCode().name());
      }
    }
    return answers;
  }
}
