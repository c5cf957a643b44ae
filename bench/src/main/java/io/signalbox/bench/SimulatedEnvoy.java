package io.signalbox.bench;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.function.Supplier;

/**
 * What every simulated Envoy of the fan-out shares, whatever its protocol: its node, the stream,
 * the counters and how the stream ends. Callbacks for one stream run one at a time, so the counters
 * need no locks; subclasses handle each response in {@link #received}.
 *
 * @param <Q> the request type of the ADS stream
 * @param <R> the response type
 */
abstract class SimulatedEnvoy<Q extends Message, R extends Message>
    implements FanoutClient, ClientResponseObserver<Q, R> {

  protected final int index;
  protected final Node node;
  private final boolean nodeInFirstRequestOnly;
  private boolean sentFirst; // guarded by this
  protected final Supplier<Round> currentRound;
  private ClientCallStreamObserver<Q> requests;
  protected volatile int assignmentCount;
  private volatile long responses;
  private volatile long responseBytes;
  private volatile Throwable error;
  private volatile boolean completed;

  /** The node of an edge Envoy of {@code nodeCluster}: its id and cluster. */
  static Node edgeNode(int index, String nodeCluster) {
    return Node.newBuilder().setId("bench-client-" + index).setCluster(nodeCluster).build();
  }

  /**
   * @param nodeInFirstRequestOnly whether the node goes in the stream's first request only, as
   *     Envoy sends it with {@code set_node_on_first_message_only} (Signalbox's bootstraps), or in
   *     every request (Envoy's default, which java-control-plane's caches need: they read each
   *     request's node)
   */
  SimulatedEnvoy(
      int index, Node node, boolean nodeInFirstRequestOnly, Supplier<Round> currentRound) {
    this.index = index;
    this.node = node;
    this.nodeInFirstRequestOnly = nodeInFirstRequestOnly;
    this.currentRound = currentRound;
  }

  /** The node of a sidecar of {@code service} (sidecar mode), as Envoy's bootstrap would say. */
  static Node sidecarNode(int index, String service) {
    return Node.newBuilder()
        .setId("bench-sidecar-" + index)
        .setCluster(service)
        .setMetadata(
            com.google.protobuf.Struct.newBuilder()
                .putFields(
                    "signalbox.role",
                    com.google.protobuf.Value.newBuilder().setStringValue("sidecar").build())
                .putFields(
                    "signalbox.service",
                    com.google.protobuf.Value.newBuilder().setStringValue(service).build()))
        .build();
  }

  /** Handles one response; {@code now} is when it arrived. */
  protected abstract void received(R response, long now);

  @Override
  public final void onNext(R response) {
    long now = System.nanoTime();
    responses = responses + 1;
    responseBytes = responseBytes + response.getSerializedSize();
    received(response, now);
  }

  @Override
  public int assignmentCount() {
    return assignmentCount;
  }

  @Override
  public long responses() {
    return responses;
  }

  @Override
  public long responseBytes() {
    return responseBytes;
  }

  @Override
  public boolean failed() {
    return error != null || completed;
  }

  @Override
  public Throwable error() {
    return error;
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<Q> requestStream) {
    this.requests = requestStream;
  }

  protected synchronized void send(Q request) {
    if (!failed()) {
      requests.onNext(nodeInFirstRequestOnly && sentFirst ? withoutNode(request) : request);
      sentFirst = true;
    }
  }

  @SuppressWarnings("unchecked")
  private Q withoutNode(Q request) {
    return (Q)
        request.toBuilder()
            .clearField(request.getDescriptorForType().findFieldByName("node"))
            .build();
  }

  @Override
  public void onError(Throwable t) {
    error = t;
  }

  @Override
  public void onCompleted() {
    completed = true;
  }

  @Override
  public synchronized void close() {
    if (!failed()) {
      completed = true;
      requests.cancel("benchmark over", null);
    }
  }
}
