package io.signalbox.ratelimit;

import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.Code;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.DescriptorStatus;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.stub.StreamObserver;
import io.signalbox.metrics.SignalboxMetrics;
import io.signalbox.model.RateLimit;
import java.time.Clock;
import java.util.Optional;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Envoy's rate-limit service, answering from {@link FixedWindowCounters}. A descriptor of domain
 * {@value DescriptorLimit#DOMAIN} with a {@value DescriptorLimit#LIMIT_KEY} entry is counted under
 * a digest of all of its entries ({@link CounterKey}: route, limit, and client address or header
 * value when the limit counts per value); any other descriptor is answered OK, uncounted. Each
 * answer carries the limit, the remaining hits and the time to the window's end, from which Envoy
 * writes the {@code x-ratelimit-*} response headers.
 *
 * <p>A request the service cannot count is answered with an error, never with OK: Envoy then
 * applies the route's failure mode, exactly as when the service cannot be reached (fail-open routes
 * pass, fail-closed routes answer 500). Envoy calls once per filter, and Signalbox puts a route's
 * descriptor on the filter of its failure mode, so every descriptor of a request shares one failure
 * mode. That is the case when the counters' memory budget is spent on live windows and the request
 * brings a new key ({@code RESOURCE_EXHAUSTED}), and when a request holds more descriptors or
 * entries than Envoy ever sends for Signalbox's routes ({@code INVALID_ARGUMENT}). Both are counted
 * in {@code signalbox_ratelimit_refused_total} and logged at most once a minute.
 */
public final class BuiltInRateLimitService extends RateLimitServiceGrpc.RateLimitServiceImplBase {

  /**
   * Envoy sends one descriptor per rate-limit action of the route (and virtual host) on the
   * filter's stage; Signalbox writes one per route. Each can become a new window, so this bounds
   * what one request can take.
   */
  static final int MAX_DESCRIPTORS = 16;

  /**
   * Signalbox's descriptors have three entries at most: route, limit, client address or header
   * value.
   */
  static final int MAX_ENTRIES = 8;

  /**
   * Above any limit a descriptor can carry ({@link DescriptorLimit} reads at most ten digits), so
   * clamping a larger {@code hits_addend} changes no decision, while the count stays far from
   * overflowing.
   */
  static final long MAX_HITS_ADDEND = 10_000_000_000L;

  private static final Logger log = LoggerFactory.getLogger(BuiltInRateLimitService.class);
  private static final DescriptorStatus UNLIMITED =
      DescriptorStatus.newBuilder().setCode(Code.OK).build();

  private final FixedWindowCounters counters;
  private final Clock clock;
  private final SignalboxMetrics metrics;
  private final RefusalLog countersFull;
  private final RefusalLog tooLarge;

  /**
   * @param maxBytes the counters' memory budget, read whenever a new key needs room (the gateway
   *     settings' {@code rateLimitService.counterMemory}, so a reload applies to the next new key)
   */
  public BuiltInRateLimitService(Clock clock, LongSupplier maxBytes, SignalboxMetrics metrics) {
    this.clock = clock;
    this.metrics = metrics;
    this.counters = new FixedWindowCounters(clock, maxBytes);
    this.countersFull = new RefusalLog(log, clock);
    this.tooLarge = new RefusalLog(log, clock);
  }

  @Override
  public void shouldRateLimit(
      RateLimitRequest request, StreamObserver<RateLimitResponse> response) {
    RateLimitResponse answer;
    try {
      answer = decide(request);
    } catch (StatusException refused) {
      response.onError(refused);
      return;
    }
    metrics.rateLimitDecision(answer.getOverallCode() == Code.OVER_LIMIT);
    response.onNext(answer);
    response.onCompleted();
  }

  /**
   * Counts the request's hits against each of its descriptors; over the limit if any descriptor is.
   *
   * @throws StatusException when the request cannot be counted (see the class comment); hits
   *     already counted against earlier descriptors of the request stay counted
   */
  RateLimitResponse decide(RateLimitRequest request) throws StatusException {
    checkSize(request);
    boolean ours = request.getDomain().equals(DescriptorLimit.DOMAIN);
    // Envoy leaves hits_addend 0 for "one request". It is unsigned: a large one reads as negative
    // in Java.
    long requestHits =
        request.getHitsAddend() == 0
            ? 1
            : clampHits(Integer.toUnsignedLong(request.getHitsAddend()));
    RateLimitResponse.Builder answer = RateLimitResponse.newBuilder().setOverallCode(Code.OK);
    for (RateLimitDescriptor descriptor : request.getDescriptorsList()) {
      Optional<DescriptorLimit> limit = ours ? limitOf(descriptor) : Optional.empty();
      if (limit.isEmpty()) {
        answer.addStatuses(UNLIMITED);
        continue;
      }
      long hits =
          descriptor.hasHitsAddend()
              ? clampHits(descriptor.getHitsAddend().getValue())
              : requestHits;
      DescriptorStatus status = count(descriptor, limit.get(), hits);
      if (status.getCode() == Code.OVER_LIMIT) {
        answer.setOverallCode(Code.OVER_LIMIT);
      }
      answer.addStatuses(status);
    }
    return answer.build();
  }

  FixedWindowCounters counters() {
    return counters;
  }

  private void checkSize(RateLimitRequest request) throws StatusException {
    int descriptors = request.getDescriptorsCount();
    int entries = 0;
    for (RateLimitDescriptor descriptor : request.getDescriptorsList()) {
      entries = Math.max(entries, descriptor.getEntriesCount());
    }
    if (descriptors <= MAX_DESCRIPTORS && entries <= MAX_ENTRIES) {
      return;
    }
    String why =
        descriptors > MAX_DESCRIPTORS
            ? descriptors + " descriptors (at most " + MAX_DESCRIPTORS + ")"
            : "a descriptor of " + entries + " entries (at most " + MAX_ENTRIES + ")";
    metrics.rateLimitRefused(SignalboxMetrics.RateLimitRefusal.TOO_LARGE);
    tooLarge.refused(
        refused ->
            "Rate-limit service refused "
                + refused
                + " request(s) too large to be Envoy's for"
                + " Signalbox's routes, the latest with "
                + why
                + "; nothing of them was counted");
    throw Status.INVALID_ARGUMENT.withDescription("the request holds " + why).asException();
  }

  /** Unsigned 64-bit in, at most {@link #MAX_HITS_ADDEND} out. */
  private static long clampHits(long unsigned) {
    return unsigned < 0 || unsigned > MAX_HITS_ADDEND ? MAX_HITS_ADDEND : unsigned;
  }

  private DescriptorStatus count(RateLimitDescriptor descriptor, DescriptorLimit limit, long hits)
      throws StatusException {
    long requests = limit.requests();
    RateLimitResponse.RateLimit currentLimit =
        RateLimitResponse.RateLimit.newBuilder()
            .setRequestsPerUnit((int) Math.min(requests, Integer.MAX_VALUE))
            .setUnit(unit(limit.unit()))
            .build();
    FixedWindowCounters.Count count =
        counters
            .add(CounterKey.of(descriptor), limit.unit().length(), hits)
            .orElseThrow(this::countersFull);
    long counted = count.hits();
    long untilReset = Math.max(0, count.windowEndMillis() - clock.millis());
    return DescriptorStatus.newBuilder()
        .setCode(counted <= requests ? Code.OK : Code.OVER_LIMIT)
        .setCurrentLimit(currentLimit)
        .setLimitRemaining((int) Math.max(0, Math.min(requests - counted, Integer.MAX_VALUE)))
        .setDurationUntilReset(Durations.fromMillis(untilReset))
        .build();
  }

  private StatusException countersFull() {
    metrics.rateLimitRefused(SignalboxMetrics.RateLimitRefusal.COUNTERS_FULL);
    countersFull.refused(
        refused ->
            "Rate-limit counters are full ("
                + counters.size()
                + " live windows in "
                + counters.maxBytes()
                + " bytes, rateLimitService.counterMemory): "
                + refused
                + " request(s) with new keys"
                + " refused since the last such line; Envoy applied each route's failure mode (fail-open routes passed"
                + " uncounted, fail-closed routes answered 500). Room returns as windows end");
    return Status.RESOURCE_EXHAUSTED.withDescription("rate-limit counters are full").asException();
  }

  private static Optional<DescriptorLimit> limitOf(RateLimitDescriptor descriptor) {
    for (RateLimitDescriptor.Entry entry : descriptor.getEntriesList()) {
      if (entry.getKey().equals(DescriptorLimit.LIMIT_KEY)) {
        return DescriptorLimit.parse(entry.getValue());
      }
    }
    return Optional.empty();
  }

  private static RateLimitResponse.RateLimit.Unit unit(RateLimit.Unit unit) {
    return switch (unit) {
      case SECOND -> RateLimitResponse.RateLimit.Unit.SECOND;
      case MINUTE -> RateLimitResponse.RateLimit.Unit.MINUTE;
      case HOUR -> RateLimitResponse.RateLimit.Unit.HOUR;
    };
  }
}
