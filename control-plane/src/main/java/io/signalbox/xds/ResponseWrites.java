package io.signalbox.xds;

import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceImplBase;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Context;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.function.Function;

/**
 * Tells when each xDS response has been handed to its stream's call: gRPC sends a call's messages
 * in the order they were handed to it, so whatever is sent on the stream afterwards reaches Envoy
 * after that response. The status tracker records responses before they are written (the servers
 * run their callbacks first), and a response recorded is not yet one that a later one cannot
 * overtake; make-before-break by order ({@link MakeBeforeBreak.Until#DELIVERED}) needs the write.
 *
 * <p>Both ADS servers (java-control-plane's state of the world, our delta) open a stream by calling
 * the stream-open callbacks on the thread that opens the call, which is how a wrapped call learns
 * its stream's number.
 */
public final class ResponseWrites implements DiscoveryServerCallbacks {

  /** Told of every response written, on the thread that wrote it. */
  @FunctionalInterface
  public interface Listener {
    void written(long streamId, String typeUrl, String nonce);
  }

  private static final Context.Key<Written<?>> OPENING =
      Context.key("signalbox-xds-opening-written-stream");

  private final Listener listener;

  public ResponseWrites(Listener listener) {
    this.listener = listener;
  }

  /** {@code ads} with every response it writes reported to the listener. */
  public AggregatedDiscoveryServiceImplBase wrap(AggregatedDiscoveryServiceImplBase ads) {
    return new AggregatedDiscoveryServiceImplBase() {
      @Override
      public StreamObserver<DiscoveryRequest> streamAggregatedResources(
          StreamObserver<DiscoveryResponse> responses) {
        return open(
            responses,
            DiscoveryResponse::getTypeUrl,
            DiscoveryResponse::getNonce,
            ads::streamAggregatedResources);
      }

      @Override
      public StreamObserver<DeltaDiscoveryRequest> deltaAggregatedResources(
          StreamObserver<DeltaDiscoveryResponse> responses) {
        return open(
            responses,
            DeltaDiscoveryResponse::getTypeUrl,
            DeltaDiscoveryResponse::getNonce,
            ads::deltaAggregatedResources);
      }
    };
  }

  private <Q, R> StreamObserver<Q> open(
      StreamObserver<R> responses,
      Function<R, String> typeUrl,
      Function<R, String> nonce,
      Function<StreamObserver<R>, StreamObserver<Q>> server) {
    if (!(responses instanceof ServerCallStreamObserver<R> call)) {
      // Not a gRPC call (a stream opened directly, in a test): its writes go unreported, and a
      // stage delivered to it waits for its answers.
      return server.apply(responses);
    }
    Written<R> written = new Written<>(call, typeUrl, nonce);
    Context previous = Context.current().withValue(OPENING, written).attach();
    try {
      return server.apply(written);
    } finally {
      Context.current().detach(previous);
    }
  }

  @Override
  public void onStreamOpen(long streamId, String typeUrl) {
    Written<?> opening = OPENING.get();
    if (opening != null) {
      opening.streamId = streamId;
    }
  }

  @Override
  public void onV3StreamRequest(long streamId, DiscoveryRequest request) {}

  @Override
  public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) {}

  /** A stream's responses, each reported once gRPC has it. */
  private final class Written<R> extends ServerCallStreamObserver<R> {
    private final ServerCallStreamObserver<R> call;
    private final Function<R, String> typeUrl;
    private final Function<R, String> nonce;

    /** Set while the stream opens, before any response. */
    private volatile long streamId = -1;

    Written(
        ServerCallStreamObserver<R> call, Function<R, String> typeUrl, Function<R, String> nonce) {
      this.call = call;
      this.typeUrl = typeUrl;
      this.nonce = nonce;
    }

    @Override
    public void onNext(R response) {
      call.onNext(response);
      if (streamId >= 0) {
        listener.written(streamId, typeUrl.apply(response), nonce.apply(response));
      }
    }

    @Override
    public void onError(Throwable error) {
      call.onError(error);
    }

    @Override
    public void onCompleted() {
      call.onCompleted();
    }

    @Override
    public boolean isCancelled() {
      return call.isCancelled();
    }

    @Override
    public void setOnCancelHandler(Runnable handler) {
      call.setOnCancelHandler(handler);
    }

    @Override
    public void setCompression(String compression) {
      call.setCompression(compression);
    }

    @Override
    public boolean isReady() {
      return call.isReady();
    }

    @Override
    public void setOnReadyHandler(Runnable handler) {
      call.setOnReadyHandler(handler);
    }

    @Override
    public void disableAutoInboundFlowControl() {
      call.disableAutoInboundFlowControl();
    }

    @Override
    public void request(int count) {
      call.request(count);
    }

    @Override
    public void setMessageCompression(boolean enable) {
      call.setMessageCompression(enable);
    }

    @Override
    public void disableAutoRequest() {
      call.disableAutoRequest();
    }

    @Override
    public void setOnCloseHandler(Runnable handler) {
      call.setOnCloseHandler(handler);
    }

    @Override
    public void setOnReadyThreshold(int numBytes) {
      call.setOnReadyThreshold(numBytes);
    }
  }
}
