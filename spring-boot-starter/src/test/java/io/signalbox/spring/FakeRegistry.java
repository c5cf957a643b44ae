package io.signalbox.spring;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.signalbox.registry.v1.DeregisterRequest;
import io.signalbox.registry.v1.DeregisterResponse;
import io.signalbox.registry.v1.KeepAliveRequest;
import io.signalbox.registry.v1.KeepAliveResponse;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.RegisterResponse;
import io.signalbox.registry.v1.RegistryGrpc;
import io.signalbox.registry.v1.SetServingStatusRequest;
import io.signalbox.registry.v1.SetServingStatusResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An in-process control plane that records what the starter asks of it: registrations, serving
 * statuses and deregistrations, in order. It can refuse the first registrations.
 */
final class FakeRegistry extends RegistryGrpc.RegistryImplBase implements AutoCloseable {

  private final String name = "signalbox-" + System.nanoTime();
  private final Server server;
  private final ManagedChannel channel;
  private final List<String> calls = new CopyOnWriteArrayList<>();
  private final List<RegisterRequest> registrations = new CopyOnWriteArrayList<>();
  private final AtomicInteger refusals = new AtomicInteger();
  private volatile Status refusal = Status.PERMISSION_DENIED;

  FakeRegistry() {
    try {
      server =
          InProcessServerBuilder.forName(name).directExecutor().addService(this).build().start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
  }

  ManagedChannel channel() {
    return channel;
  }

  /** Refuses the next {@code count} registrations with {@code status}. */
  void refuseRegistrations(int count, Status status) {
    refusal = status;
    refusals.set(count);
  }

  List<RegisterRequest> registrations() {
    return List.copyOf(registrations);
  }

  /** "register orders/orders-1", "serving NOT_SERVING", "deregister", in the order they came. */
  List<String> calls() {
    return List.copyOf(calls);
  }

  @Override
  public void register(RegisterRequest request, StreamObserver<RegisterResponse> responses) {
    calls.add("register " + request.getService() + "/" + request.getInstance().getId());
    if (refusals.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      responses.onError(refusal.withDescription("refused by the test").asRuntimeException());
      return;
    }
    registrations.add(request);
    responses.onNext(
        RegisterResponse.newBuilder()
            .setLeaseId("lease-" + registrations.size())
            .setTtl(com.google.protobuf.Duration.newBuilder().setSeconds(10))
            .build());
    responses.onCompleted();
  }

  @Override
  public StreamObserver<KeepAliveRequest> keepAlive(StreamObserver<KeepAliveResponse> responses) {
    return new StreamObserver<>() {
      @Override
      public void onNext(KeepAliveRequest request) {
        responses.onNext(
            KeepAliveResponse.newBuilder()
                .setLeaseId(request.getLeaseId())
                .setStatus(KeepAliveResponse.Status.RENEWED)
                .build());
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {
        responses.onCompleted();
      }
    };
  }

  @Override
  public void setServingStatus(
      SetServingStatusRequest request, StreamObserver<SetServingStatusResponse> responses) {
    calls.add("serving " + request.getStatus());
    responses.onNext(SetServingStatusResponse.getDefaultInstance());
    responses.onCompleted();
  }

  @Override
  public void deregister(DeregisterRequest request, StreamObserver<DeregisterResponse> responses) {
    calls.add("deregister");
    responses.onNext(DeregisterResponse.getDefaultInstance());
    responses.onCompleted();
  }

  @Override
  public void close() {
    channel.shutdownNow();
    server.shutdownNow();
  }
}
