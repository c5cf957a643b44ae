package io.signalbox.samples;

import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.signalbox.samples.v1.GreeterGrpc;
import io.signalbox.samples.v1.HelloReply;
import io.signalbox.samples.v1.HelloRequest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A gRPC backend ({@code signalbox.samples.v1.Greeter}, plaintext HTTP/2): a unary greeting and a
 * server-streaming one, each reply naming the instance that sent it, for a service registered with
 * {@code upstream_protocol: GRPC}.
 */
public final class GreeterService implements AutoCloseable {

  /** The route prefix of every Greeter method: gRPC calls are POSTs to /package.Service/Method. */
  public static final String ROUTE_PREFIX = "/" + GreeterGrpc.SERVICE_NAME + "/";

  /** At most this many messages per stream, and this long between two: a caller bounds nothing. */
  static final int MAX_COUNT = 1_000;

  static final int MAX_INTERVAL_MILLIS = 10_000;

  private final Server server;
  private final ScheduledExecutorService timer;

  private GreeterService(Server server, ScheduledExecutorService timer) {
    this.server = server;
    this.timer = timer;
  }

  /** Starts serving on {@code host:port}; port 0 picks a free port, see {@link #port()}. */
  public static GreeterService start(String instanceId, String host, int port) {
    ScheduledExecutorService timer =
        Executors.newSingleThreadScheduledExecutor(EchoService.daemonThreads("greeter-streams"));
    Server server =
        NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
            .addService(new Greeter(instanceId, timer))
            .build();
    try {
      server.start();
    } catch (IOException e) {
      timer.shutdownNow();
      throw new UncheckedIOException("Cannot listen on " + host + ":" + port, e);
    }
    return new GreeterService(server, timer);
  }

  public int port() {
    return server.getPort();
  }

  @Override
  public void close() {
    server.shutdownNow();
    timer.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static final class Greeter extends GreeterGrpc.GreeterImplBase {

    private final String instanceId;
    private final ScheduledExecutorService timer;

    Greeter(String instanceId, ScheduledExecutorService timer) {
      this.instanceId = instanceId;
      this.timer = timer;
    }

    @Override
    public void sayHello(HelloRequest request, StreamObserver<HelloReply> responses) {
      responses.onNext(reply(request, 1));
      responses.onCompleted();
    }

    @Override
    public void sayHellos(HelloRequest request, StreamObserver<HelloReply> responses) {
      if (request.getCount() < 1 || request.getCount() > MAX_COUNT) {
        responses.onError(
            Status.INVALID_ARGUMENT
                .withDescription("count must be 1-" + MAX_COUNT + ", not " + request.getCount())
                .asRuntimeException());
        return;
      }
      if (request.getIntervalMillis() < 0 || request.getIntervalMillis() > MAX_INTERVAL_MILLIS) {
        responses.onError(
            Status.INVALID_ARGUMENT
                .withDescription(
                    "interval_millis must be 0-"
                        + MAX_INTERVAL_MILLIS
                        + ", not "
                        + request.getIntervalMillis())
                .asRuntimeException());
        return;
      }
      ServerCallStreamObserver<HelloReply> stream =
          (ServerCallStreamObserver<HelloReply>) responses;
      new Ticks(stream, request).next(0);
    }

    /**
     * One message per tick, each tick scheduling the next: nothing is left scheduled once the
     * stream is done, or once its caller has gone (cancelled, or its deadline passed).
     */
    private final class Ticks {
      private final ServerCallStreamObserver<HelloReply> stream;
      private final HelloRequest request;
      private int sent;

      Ticks(ServerCallStreamObserver<HelloReply> stream, HelloRequest request) {
        this.stream = stream;
        this.request = request;
      }

      void next(long delayMillis) {
        timer.schedule(this::tick, delayMillis, TimeUnit.MILLISECONDS);
      }

      private void tick() {
        if (stream.isCancelled()) {
          return;
        }
        stream.onNext(reply(request, ++sent));
        if (sent == request.getCount()) {
          stream.onCompleted();
        } else {
          next(request.getIntervalMillis());
        }
      }
    }

    private HelloReply reply(HelloRequest request, int sequence) {
      return HelloReply.newBuilder()
          .setMessage("Hello, " + (request.getName().isEmpty() ? "world" : request.getName()))
          .setInstance(instanceId)
          .setSequence(sequence)
          .build();
    }
  }
}
