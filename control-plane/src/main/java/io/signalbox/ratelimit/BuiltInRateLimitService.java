package io.signalbox.ratelimit;

import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.Code;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.DescriptorStatus;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.stub.StreamObserver;
import io.signalbox.metrics.SignalboxMetrics;
import io.signalbox.model.RateLimit;
import io.signalbox.translate.XdsNames;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * Envoy's rate-limit service, answering from {@link FixedWindowCounters}. A descriptor of domain {@value
 * XdsNames#RATE_LIMIT_DOMAIN} with a {@value XdsNames#RATE_LIMIT_LIMIT_KEY} entry is counted under all of its
 * entries (route, limit, and client address or header value when the limit counts per value); any other descriptor
 * is answered OK, uncounted. Each answer carries the limit, the remaining hits and the time to the window's end, from
 * which Envoy writes the {@code x-ratelimit-*} response headers.
 */
public final class BuiltInRateLimitService extends RateLimitServiceGrpc.RateLimitServiceImplBase {

  private static final DescriptorStatus UNLIMITED = DescriptorStatus.newBuilder().setCode(Code.OK).build();

  private final FixedWindowCounters counters;
  private final LongSupplier clockMillis;
  private final SignalboxMetrics metrics;

  public BuiltInRateLimitService() {
    this(SignalboxMetrics.noop());
  }

  public BuiltInRateLimitService(SignalboxMetrics metrics) {
    this(System::currentTimeMillis, FixedWindowCounters.DEFAULT_MAX_KEYS, metrics);
  }

  BuiltInRateLimitService(LongSupplier clockMillis, int maxKeys) {
    this(clockMillis, maxKeys, SignalboxMetrics.noop());
  }

  BuiltInRateLimitService(LongSupplier clockMillis, int maxKeys, SignalboxMetrics metrics) {
    this.metrics = metrics;
    this.clockMillis = clockMillis;
    this.counters = new FixedWindowCounters(clockMillis, maxKeys);
  }

  @Override
  public void shouldRateLimit(RateLimitRequest request, StreamObserver<RateLimitResponse> response) {
    RateLimitResponse answer = decide(request);
    metrics.rateLimitDecision(answer.getOverallCode() == Code.OVER_LIMIT);
    response.onNext(answer);
    response.onCompleted();
  }

  /** Counts the request's hits against each of its descriptors; over the limit if any descriptor is. */
  RateLimitResponse decide(RateLimitRequest request) {
    boolean ours = request.getDomain().equals(XdsNames.RATE_LIMIT_DOMAIN);
    // Envoy leaves hits_addend 0 for "one request".
    long requestHits = request.getHitsAddend() == 0 ? 1 : request.getHitsAddend();
    RateLimitResponse.Builder answer = RateLimitResponse.newBuilder().setOverallCode(Code.OK);
    for (RateLimitDescriptor descriptor : request.getDescriptorsList()) {
      Optional<DescriptorLimit> limit = ours ? limitOf(descriptor) : Optional.empty();
      if (limit.isEmpty()) {
        answer.addStatuses(UNLIMITED);
        continue;
      }
      long hits = descriptor.hasHitsAddend() ? descriptor.getHitsAddend().getValue() : requestHits;
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

  private DescriptorStatus count(RateLimitDescriptor descriptor, DescriptorLimit limit, long hits) {
    long requests = limit.requests();
    RateLimitResponse.RateLimit currentLimit = RateLimitResponse.RateLimit.newBuilder()
        .setRequestsPerUnit((int) Math.min(requests, Integer.MAX_VALUE))
        .setUnit(unit(limit.unit()))
        .build();
    Optional<FixedWindowCounters.Count> count = counters.add(key(descriptor), limit.unit().length(), hits);
    if (count.isEmpty()) {
      // Not tracked (the table is full): allowed, as when the service cannot be asked and the route fails open.
      return DescriptorStatus.newBuilder().setCode(Code.OK).setCurrentLimit(currentLimit)
          .setLimitRemaining((int) Math.min(requests, Integer.MAX_VALUE)).build();
    }
    long counted = count.get().hits();
    long untilReset = Math.max(0, count.get().windowEndMillis() - clockMillis.getAsLong());
    return DescriptorStatus.newBuilder()
        .setCode(counted <= requests ? Code.OK : Code.OVER_LIMIT)
        .setCurrentLimit(currentLimit)
        .setLimitRemaining((int) Math.max(0, Math.min(requests - counted, Integer.MAX_VALUE)))
        .setDurationUntilReset(Durations.fromMillis(untilReset))
        .build();
  }

  private static Optional<DescriptorLimit> limitOf(RateLimitDescriptor descriptor) {
    for (RateLimitDescriptor.Entry entry : descriptor.getEntriesList()) {
      if (entry.getKey().equals(XdsNames.RATE_LIMIT_LIMIT_KEY)) {
        return DescriptorLimit.parse(entry.getValue());
      }
    }
    return Optional.empty();
  }

  /** Every entry, length-prefixed, so that no two different descriptors share a key whatever their values hold. */
  static String key(RateLimitDescriptor descriptor) {
    StringBuilder key = new StringBuilder(128);
    for (RateLimitDescriptor.Entry entry : descriptor.getEntriesList()) {
      key.append(entry.getKey().length()).append(':').append(entry.getKey())
          .append(entry.getValue().length()).append(':').append(entry.getValue());
    }
    return key.toString();
  }

  private static RateLimitResponse.RateLimit.Unit unit(RateLimit.Unit unit) {
    return switch (unit) {
      case SECOND -> RateLimitResponse.RateLimit.Unit.SECOND;
      case MINUTE -> RateLimitResponse.RateLimit.Unit.MINUTE;
      case HOUR -> RateLimitResponse.RateLimit.Unit.HOUR;
    };
  }
}
