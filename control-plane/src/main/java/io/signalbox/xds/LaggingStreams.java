package io.signalbox.xds;

import com.google.common.util.concurrent.ThreadFactoryBuilder;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceImplBase;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.BindableService;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.signalbox.metrics.SignalboxMetrics;
import io.signalbox.xds.ProxyStatusTracker.CutOffStream;
import io.signalbox.xds.ProxyStatusTracker.LaggingStream;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches for xDS streams that lag (see {@link ProxyStatusTracker#laggingStreams()}): counts them
 * per node group, and ends a stream that has lagged for the cut-off time, with a log line naming
 * its node. A lagging stream costs little while it stays (the library opens a watch only once the
 * previous response of its type is answered, so at most one response per type waits on it, never a
 * queue), but it may be a half-open connection that would otherwise stay for hours. An Envoy that
 * is merely slow reconnects and is sent the current configuration.
 *
 * <p>java-control-plane gives no way to end a stream from the server's side, so {@link #wrap} keeps
 * each stream's request observer: ending the stream through it runs the library's own clean-up
 * (watches cancelled, close callbacks) and closes the call with CANCELLED.
 */
public final class LaggingStreams implements DiscoveryServerCallbacks, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(LaggingStreams.class);

  /** How long a stream may lag before it is cut off; long enough for a VM pause or a GC storm. */
  public static final Duration DEFAULT_CUTOFF = Duration.ofSeconds(30);

  /** How often the streams are looked at. */
  private static final Duration CHECK_INTERVAL = Duration.ofMillis(500);

  /** Set while java-control-plane opens a stream: its stream-open callback names the stream. */
  private static final Context.Key<long[]> OPENING = Context.key("signalbox-xds-opening-stream");

  private final ProxyStatusTracker proxies;
  private final Duration cutoff;
  private final SignalboxMetrics metrics;
  private final Clock clock;
  private final Map<Long, StreamObserver<?>> requestObservers = new ConcurrentHashMap<>();
  private final ScheduledExecutorService timer;

  /**
   * Starts watching.
   *
   * @param cutoff how long a stream may lag before it is ended; zero never ends one
   */
  public LaggingStreams(
      ProxyStatusTracker proxies, Duration cutoff, SignalboxMetrics metrics, Clock clock) {
    this.proxies = proxies;
    this.cutoff = cutoff;
    this.metrics = metrics;
    this.clock = clock;
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            new ThreadFactoryBuilder()
                .setNameFormat("signalbox-lagging-streams")
                .setDaemon(true)
                .build());
    timer.scheduleWithFixedDelay(
        this::checkSafely,
        CHECK_INTERVAL.toMillis(),
        CHECK_INTERVAL.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  /** The ADS service whose streams this can end. */
  public BindableService wrap(AggregatedDiscoveryServiceImplBase ads) {
    return new AggregatedDiscoveryServiceImplBase() {
      @Override
      public StreamObserver<DiscoveryRequest> streamAggregatedResources(
          StreamObserver<DiscoveryResponse> responses) {
        return opened(() -> ads.streamAggregatedResources(responses));
      }

      @Override
      public StreamObserver<DeltaDiscoveryRequest> deltaAggregatedResources(
          StreamObserver<DeltaDiscoveryResponse> responses) {
        return opened(() -> ads.deltaAggregatedResources(responses));
      }
    };
  }

  private <T> StreamObserver<T> opened(Supplier<StreamObserver<T>> open) {
    long[] streamId = {-1};
    Context previous = Context.current().withValue(OPENING, streamId).attach();
    StreamObserver<T> requests;
    try {
      requests = open.get();
    } finally {
      Context.current().detach(previous);
    }
    if (streamId[0] >= 0) {
      requestObservers.put(streamId[0], requests);
    }
    return requests;
  }

  @Override
  public void onStreamOpen(long streamId, String typeUrl) {
    long[] opening = OPENING.get();
    if (opening != null) {
      opening[0] = streamId;
    }
  }

  @Override
  public void onV3StreamRequest(long streamId, DiscoveryRequest request) {}

  @Override
  public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) {}

  @Override
  public void onStreamClose(long streamId, String typeUrl) {
    requestObservers.remove(streamId);
  }

  @Override
  public void onStreamCloseWithError(long streamId, String typeUrl, Throwable error) {
    requestObservers.remove(streamId);
  }

  /** Counts the lagging streams per group and ends those that lagged for the cut-off time. */
  void check() {
    Map<String, Integer> laggingByGroup = new HashMap<>();
    for (LaggingStream stream : proxies.laggingStreams()) {
      if (!cutoff.isZero() && stream.laggingFor().compareTo(cutoff) >= 0) {
        cutOff(stream);
      } else {
        laggingByGroup.merge(stream.group(), 1, Integer::sum);
      }
    }
    metrics.laggingStreams(laggingByGroup);
  }

  private void checkSafely() {
    try {
      check();
    } catch (RuntimeException e) {
      log.error("Looking for lagging xDS streams failed; trying again", e);
    }
  }

  private void cutOff(LaggingStream stream) {
    StreamObserver<?> requests = requestObservers.remove(stream.streamId());
    if (requests == null) {
      return;
    }
    long seconds = stream.laggingFor().toSeconds();
    log.atWarn()
        .addKeyValue("node_id", stream.node().getId())
        .addKeyValue("group", stream.group())
        .log(
            "Cutting off the xDS stream {} of node={} group={}: a response has waited {} s for its "
                + "answer (--xds-cutoff {} s); a live Envoy reconnects and is sent the current "
                + "configuration",
            stream.streamId(),
            stream.node().getId(),
            stream.group(),
            seconds,
            cutoff.toSeconds());
    metrics.streamCutOff(stream.group());
    proxies.cutOff(
        new CutOffStream(
            stream.streamId(),
            stream.node(),
            stream.group(),
            stream.laggingFor(),
            clock.instant()));
    // CANCELLED: the library logs any other status as an error with a stack trace; this line and
    // the
    // warning above say what happened.
    requests.onError(
        Status.CANCELLED
            .withDescription(
                "Signalbox cut this stream off: a response went unanswered for "
                    + seconds
                    + " s; reconnect to be sent the current configuration")
            .asRuntimeException());
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
