package io.signalbox.xds;

import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

/**
 * Tells when each xDS response has been handed to its stream's call: gRPC sends a call's messages
 * in the order they were handed to it, so whatever is sent on the stream afterwards reaches Envoy
 * after that response. The status tracker records responses before they are written (the servers
 * run their callbacks first), and a response recorded is not yet one that a later one cannot
 * overtake; make-before-break by order ({@link MakeBeforeBreak.Until#DELIVERED}) needs the write.
 *
 * <p>An interceptor of the ADS service: each call's {@code sendMessage} reports after handing the
 * message on. Both ADS servers (java-control-plane's state of the world, our delta) open a stream
 * by calling the stream-open callbacks on the thread that starts the call, which is how a call
 * learns its stream's number.
 */
public final class ResponseWrites implements ServerInterceptor, DiscoveryServerCallbacks {

  /** Told of every response written, on the thread that wrote it. */
  @FunctionalInterface
  public interface Listener {
    void written(long streamId, String typeUrl, String nonce);
  }

  private static final Context.Key<Written<?, ?>> OPENING =
      Context.key("signalbox-xds-opening-written-stream");

  private final Listener listener;

  public ResponseWrites(Listener listener) {
    this.listener = listener;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    Written<Q, R> written = new Written<>(call);
    return Contexts.interceptCall(
        Context.current().withValue(OPENING, written), written, headers, next);
  }

  @Override
  public void onStreamOpen(long streamId, String typeUrl) {
    Written<?, ?> opening = OPENING.get();
    if (opening != null) {
      opening.streamId = streamId;
    }
  }

  @Override
  public void onV3StreamRequest(long streamId, DiscoveryRequest request) {}

  @Override
  public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) {}

  /** A stream's call, each response reported once gRPC has it. */
  private final class Written<Q, R> extends SimpleForwardingServerCall<Q, R> {

    /** Set while the stream opens, before any response. */
    private volatile long streamId = -1;

    Written(ServerCall<Q, R> call) {
      super(call);
    }

    @Override
    public void sendMessage(R message) {
      super.sendMessage(message);
      if (streamId < 0) {
        return;
      }
      if (message instanceof DeltaDiscoveryResponse delta) {
        listener.written(streamId, delta.getTypeUrl(), delta.getNonce());
      } else if (message instanceof DiscoveryResponse sotw) {
        listener.written(streamId, sotw.getTypeUrl(), sotw.getNonce());
      }
    }
  }
}
