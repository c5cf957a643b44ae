package io.signalbox.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.google.protobuf.UInt64Value;
import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.Code;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.DescriptorStatus;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.signalbox.metrics.SignalboxMetrics;
import io.signalbox.testing.TestClock;
import io.signalbox.translate.XdsNames;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The service as Envoy sees it: descriptors in, OK / OVER_LIMIT with the figures for x-ratelimit-*
 * out.
 */
class BuiltInRateLimitServiceTest {

  /** 12:00:45: a quarter of a minute before the window ends. */
  private final TestClock now =
      new TestClock(Duration.ofDays(20_000).plusHours(12).plusSeconds(45));

  private final SignalboxMetrics metrics = SignalboxMetrics.prometheus();
  private final BuiltInRateLimitService service = service(10_000);
  private Server server;
  private ManagedChannel channel;
  private RateLimitServiceGrpc.RateLimitServiceBlockingStub stub;

  @BeforeEach
  void startServer() throws Exception {
    String name = InProcessServerBuilder.generateName();
    server =
        InProcessServerBuilder.forName(name).directExecutor().addService(service).build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    stub = RateLimitServiceGrpc.newBlockingStub(channel);
  }

  @AfterEach
  void stopServer() {
    channel.shutdownNow();
    server.shutdownNow();
    metrics.close();
  }

  @Test
  void allowsUpToTheLimitThenAnswersOverLimitWithTheFiguresForTheHeaders() {
    RateLimitDescriptor orders = descriptor("orders: prefix /orders", "3/MINUTE");
    List<RateLimitResponse> answers = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      answers.add(stub.shouldRateLimit(request(orders)));
    }

    assertThat(answers)
        .extracting(RateLimitResponse::getOverallCode)
        .containsExactly(Code.OK, Code.OK, Code.OK, Code.OVER_LIMIT);
    assertThat(answers)
        .extracting(a -> a.getStatuses(0).getLimitRemaining())
        .containsExactly(2, 1, 0, 0);
    DescriptorStatus over = answers.get(3).getStatuses(0);
    assertThat(over.getCode()).isEqualTo(Code.OVER_LIMIT);
    assertThat(over.getCurrentLimit().getRequestsPerUnit()).isEqualTo(3);
    assertThat(over.getCurrentLimit().getUnit()).isEqualTo(RateLimitResponse.RateLimit.Unit.MINUTE);
    assertThat(Durations.toMillis(over.getDurationUntilReset())).isEqualTo(15_000);
  }

  @Test
  void theNextWindowStartsAtTheUnitBoundary() {
    RateLimitDescriptor orders = descriptor("orders: prefix /orders", "1/MINUTE");
    assertThat(stub.shouldRateLimit(request(orders)).getOverallCode()).isEqualTo(Code.OK);
    assertThat(stub.shouldRateLimit(request(orders)).getOverallCode()).isEqualTo(Code.OVER_LIMIT);

    now.advance(Duration.ofSeconds(15).minusMillis(1));
    assertThat(stub.shouldRateLimit(request(orders)).getOverallCode())
        .as("12:00:59.999")
        .isEqualTo(Code.OVER_LIMIT);
    now.advance(Duration.ofMillis(1));
    RateLimitResponse fresh = stub.shouldRateLimit(request(orders));
    assertThat(fresh.getOverallCode()).as("12:01:00.000").isEqualTo(Code.OK);
    assertThat(Durations.toMillis(fresh.getStatuses(0).getDurationUntilReset())).isEqualTo(60_000);
  }

  @Test
  void eachDescriptorHasItsOwnCount() {
    RateLimitDescriptor tenantA =
        descriptor("reports", "1/HOUR", XdsNames.rateLimitHeaderKey("x-tenant"), "a");
    RateLimitDescriptor tenantB =
        descriptor("reports", "1/HOUR", XdsNames.rateLimitHeaderKey("x-tenant"), "b");
    RateLimitDescriptor otherRoute =
        descriptor("orders", "1/HOUR", XdsNames.rateLimitHeaderKey("x-tenant"), "a");
    RateLimitDescriptor changedLimit =
        descriptor("reports", "2/HOUR", XdsNames.rateLimitHeaderKey("x-tenant"), "a");

    assertThat(stub.shouldRateLimit(request(tenantA)).getOverallCode()).isEqualTo(Code.OK);
    assertThat(stub.shouldRateLimit(request(tenantA)).getOverallCode()).isEqualTo(Code.OVER_LIMIT);
    assertThat(stub.shouldRateLimit(request(tenantB)).getOverallCode()).isEqualTo(Code.OK);
    assertThat(stub.shouldRateLimit(request(otherRoute)).getOverallCode()).isEqualTo(Code.OK);
    assertThat(stub.shouldRateLimit(request(changedLimit)).getOverallCode())
        .as("a changed limit is a new descriptor, counted afresh")
        .isEqualTo(Code.OK);
  }

  @Test
  void descriptorsWithoutASignalboxLimitAndOtherDomainsAreNotLimited() {
    RateLimitDescriptor foreign =
        RateLimitDescriptor.newBuilder()
            .addEntries(RateLimitDescriptor.Entry.newBuilder().setKey("generic_key").setValue("x"))
            .build();
    RateLimitDescriptor garbled = descriptor("orders", "ten/MINUTE");
    RateLimitDescriptor unknownUnit = descriptor("orders", "10/FORTNIGHT");

    RateLimitResponse answer =
        stub.shouldRateLimit(
            RateLimitRequest.newBuilder()
                .setDomain(XdsNames.RATE_LIMIT_DOMAIN)
                .addDescriptors(foreign)
                .addDescriptors(garbled)
                .addDescriptors(unknownUnit)
                .build());

    assertThat(answer.getOverallCode()).isEqualTo(Code.OK);
    assertThat(answer.getStatusesList())
        .hasSize(3)
        .allSatisfy(
            status -> {
              assertThat(status.getCode()).isEqualTo(Code.OK);
              assertThat(status.hasCurrentLimit()).isFalse();
            });
    RateLimitDescriptor ours = descriptor("orders", "1/MINUTE");
    RateLimitRequest otherDomain =
        RateLimitRequest.newBuilder().setDomain("someone-else").addDescriptors(ours).build();
    assertThat(stub.shouldRateLimit(otherDomain).getOverallCode()).isEqualTo(Code.OK);
    assertThat(stub.shouldRateLimit(otherDomain).getOverallCode()).isEqualTo(Code.OK);
    assertThat(service.counters().size()).isZero();
  }

  @Test
  void overallOverLimitWhenAnyDescriptorIsWithStatusesInRequestOrder() {
    RateLimitDescriptor tight = descriptor("tight", "1/MINUTE");
    RateLimitDescriptor loose = descriptor("loose", "100/MINUTE");
    stub.shouldRateLimit(request(tight));

    RateLimitResponse answer =
        stub.shouldRateLimit(
            RateLimitRequest.newBuilder()
                .setDomain(XdsNames.RATE_LIMIT_DOMAIN)
                .addDescriptors(loose)
                .addDescriptors(tight)
                .build());

    assertThat(answer.getOverallCode()).isEqualTo(Code.OVER_LIMIT);
    assertThat(answer.getStatusesList())
        .extracting(DescriptorStatus::getCode)
        .containsExactly(Code.OK, Code.OVER_LIMIT);
  }

  @Test
  void hitsAddendCountsSeveralHitsAtOnceAndADescriptorsOwnAddendWins() {
    RateLimitDescriptor orders = descriptor("orders", "10/MINUTE");
    RateLimitResponse seven =
        stub.shouldRateLimit(request(orders).toBuilder().setHitsAddend(7).build());
    assertThat(seven.getStatuses(0).getLimitRemaining()).isEqualTo(3);

    RateLimitDescriptor withOwnAddend = orders.toBuilder().setHitsAddend(UInt64Value.of(3)).build();
    RateLimitResponse ten =
        stub.shouldRateLimit(
            RateLimitRequest.newBuilder()
                .setDomain(XdsNames.RATE_LIMIT_DOMAIN)
                .setHitsAddend(50)
                .addDescriptors(withOwnAddend)
                .build());
    assertThat(ten.getOverallCode()).isEqualTo(Code.OK);
    assertThat(ten.getStatuses(0).getLimitRemaining()).isZero();

    assertThat(stub.shouldRateLimit(request(orders)).getOverallCode()).isEqualTo(Code.OVER_LIMIT);
  }

  @Test
  void concurrentDecisionsAllowExactlyTheLimit() throws Exception {
    RateLimitDescriptor orders = descriptor("orders", "1000/MINUTE");
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<Integer>> allowed = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        allowed.add(
            pool.submit(
                () -> {
                  int ok = 0;
                  for (int i = 0; i < 500; i++) {
                    if (service.decide(request(orders)).getOverallCode() == Code.OK) {
                      ok++;
                    }
                  }
                  return ok;
                }));
      }
      int total = 0;
      for (Future<Integer> future : allowed) {
        total += future.get(30, TimeUnit.SECONDS);
      }
      assertThat(total).isEqualTo(1000);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void whenTheCountersAreFullANewKeyIsRefusedSoThatEnvoyAppliesTheRoutesFailureMode() {
    BuiltInRateLimitService small = service(2);
    RateLimitDescriptor first =
        descriptor("orders", "2/MINUTE", XdsNames.RATE_LIMIT_CLIENT_IP_KEY, "10.0.0.1");
    RateLimitDescriptor second =
        descriptor("orders", "2/MINUTE", XdsNames.RATE_LIMIT_CLIENT_IP_KEY, "10.0.0.2");
    RateLimitDescriptor third =
        descriptor("orders", "2/MINUTE", XdsNames.RATE_LIMIT_CLIENT_IP_KEY, "10.0.0.3");
    RecordingObserver answers = new RecordingObserver();
    small.shouldRateLimit(request(first), answers);
    small.shouldRateLimit(request(second), answers);

    small.shouldRateLimit(request(third), answers);

    assertThat(answers.errors)
        .singleElement()
        .satisfies(
            error -> {
              assertThat(Status.fromThrowable(error).getCode())
                  .isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
              assertThat(Status.fromThrowable(error).getDescription())
                  .isEqualTo("rate-limit counters are full");
            });
    assertThat(refused(SignalboxMetrics.RateLimitRefusal.COUNTERS_FULL)).isEqualTo(1);
    assertThat(answers.codes).as("live keys keep counting").hasSize(2);
    small.shouldRateLimit(request(first), answers);
    small.shouldRateLimit(request(first), answers);
    assertThat(answers.codes).containsExactly(Code.OK, Code.OK, Code.OK, Code.OVER_LIMIT);

    now.advance(Duration.ofSeconds(15));
    small.shouldRateLimit(request(third), answers);
    assertThat(answers.codes)
        .as("room again once the windows ended")
        .hasSize(5)
        .last()
        .isEqualTo(Code.OK);
  }

  @Test
  void aFullTableIsLoggedOncePerMinuteWithTheNumberOfRefusalsSinceTheLineBefore() {
    BuiltInRateLimitService small = service(1);
    small.shouldRateLimit(
        request(descriptor("orders", "9/HOUR", "x-tenant", "kept")), new RecordingObserver());
    ListAppender<ILoggingEvent> lines = new ListAppender<>();
    lines.start();
    Logger logger = (Logger) LoggerFactory.getLogger(BuiltInRateLimitService.class);
    logger.addAppender(lines);
    try {
      for (int i = 0; i < 50; i++) {
        small.shouldRateLimit(
            request(descriptor("orders", "9/HOUR", "x-tenant", "t" + i)), new RecordingObserver());
        now.advance(Duration.ofSeconds(1));
      }
    } finally {
      logger.detachAppender(lines);
    }

    assertThat(lines.list)
        .extracting(ILoggingEvent::getFormattedMessage)
        .hasSize(1)
        .first()
        .asString()
        .startsWith(
            "Rate-limit counters are full (1 live windows in 128 bytes, rateLimitService.counterMemory): 1 "
                + "request(s)");
    now.advance(Duration.ofSeconds(10));
    logger.addAppender(lines);
    try {
      small.shouldRateLimit(
          request(descriptor("orders", "9/HOUR", "x-tenant", "late")), new RecordingObserver());
    } finally {
      logger.detachAppender(lines);
    }
    assertThat(lines.list).hasSize(2);
    assertThat(lines.list.get(1).getFormattedMessage())
        .contains(": 50 request(s) with new keys refused since");
    assertThat(refused(SignalboxMetrics.RateLimitRefusal.COUNTERS_FULL)).isEqualTo(51);
  }

  @Test
  void aDescriptorValueOfAMegabyteIsCountedWithoutBeingKept() {
    long before = usedHeapAfterGc();
    for (int i = 0; i < 64; i++) {
      String apiKey = i + "k".repeat(1 << 20);
      assertThat(
              stub.shouldRateLimit(request(descriptor("export", "5/HOUR", "x-api-key", apiKey)))
                  .getOverallCode())
          .isEqualTo(Code.OK);
    }
    long retained = usedHeapAfterGc() - before;

    assertThat(service.counters().size()).isEqualTo(64);
    assertThat(retained)
        .as("bytes retained by 64 windows keyed by 1 MiB values")
        .isLessThan(8L << 20);
  }

  @Test
  void aHitsAddendBeyondAnyLimitIsClampedSoTheCountNeverWrapsNegative() {
    RateLimitDescriptor orders = descriptor("orders", "10/MINUTE");
    // Both addends are unsigned on the wire: 2^32-1 for the request's, 2^64-1 for a descriptor's.
    RateLimitResponse huge =
        stub.shouldRateLimit(request(orders).toBuilder().setHitsAddend(-1).build());
    RateLimitResponse hugest =
        stub.shouldRateLimit(request(orders.toBuilder().setHitsAddend(UInt64Value.of(-1)).build()));
    RateLimitResponse twice =
        stub.shouldRateLimit(
            request(orders.toBuilder().setHitsAddend(UInt64Value.of(Long.MAX_VALUE)).build()));

    assertThat(List.of(huge, hugest, twice))
        .extracting(RateLimitResponse::getOverallCode)
        .containsOnly(Code.OVER_LIMIT);
    assertThat(stub.shouldRateLimit(request(orders)).getOverallCode()).isEqualTo(Code.OVER_LIMIT);
    assertThat(
            service
                .counters()
                .add(CounterKey.of(orders), Duration.ofMinutes(1), 0)
                .orElseThrow()
                .hits())
        .as("2^32-1, twice the clamped 2^64-1 and 2^63-1, and one")
        .isEqualTo(0xFFFF_FFFFL + 2 * BuiltInRateLimitService.MAX_HITS_ADDEND + 1);
  }

  @Test
  void aRequestWithMoreDescriptorsThanEnvoySendsIsRefusedBeforeAnythingIsCounted() {
    RateLimitRequest.Builder many =
        RateLimitRequest.newBuilder().setDomain(XdsNames.RATE_LIMIT_DOMAIN);
    for (int i = 0; i <= BuiltInRateLimitService.MAX_DESCRIPTORS; i++) {
      many.addDescriptors(
          descriptor("orders", "5/MINUTE", XdsNames.RATE_LIMIT_CLIENT_IP_KEY, "10.0.0." + i));
    }
    RateLimitDescriptor.Builder wide = descriptor("orders", "5/MINUTE").toBuilder();
    for (int i = 0; i < BuiltInRateLimitService.MAX_ENTRIES; i++) {
      wide.addEntries(entry("k" + i, "v"));
    }
    RateLimitRequest wideRequest = request(wide.build());

    assertThatThrownBy(() -> stub.shouldRateLimit(many.build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
              assertThat(e.getStatus().getDescription())
                  .isEqualTo("the request holds 17 descriptors (at most 16)");
            });
    assertThatThrownBy(() -> stub.shouldRateLimit(wideRequest))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e ->
                assertThat(e.getStatus().getDescription())
                    .isEqualTo("the request holds a descriptor of 10 entries (at most 8)"));
    assertThat(service.counters().size()).isZero();
    assertThat(refused(SignalboxMetrics.RateLimitRefusal.TOO_LARGE)).isEqualTo(2);
  }

  /** A service whose counters have room for {@code windows} live windows. */
  private BuiltInRateLimitService service(int windows) {
    return new BuiltInRateLimitService(
        now, () -> windows * FixedWindowCounters.BYTES_PER_WINDOW, metrics);
  }

  private double refused(SignalboxMetrics.RateLimitRefusal reason) {
    return metrics
        .registry()
        .get("signalbox.ratelimit.refused")
        .tag("reason", reason.name().toLowerCase(java.util.Locale.ROOT))
        .counter()
        .count();
  }

  private static long usedHeapAfterGc() {
    Runtime runtime = Runtime.getRuntime();
    long used = Long.MAX_VALUE;
    // A few collections, until the figure stops falling: one may leave garbage a later one finds.
    for (int i = 0; i < 5; i++) {
      System.gc();
      long now = runtime.totalMemory() - runtime.freeMemory();
      if (now >= used) {
        break;
      }
      used = now;
    }
    return used;
  }

  /** What a caller of the asynchronous API sees: decisions, or the error that ends the call. */
  private static final class RecordingObserver implements StreamObserver<RateLimitResponse> {
    final List<Code> codes = new ArrayList<>();
    final List<Throwable> errors = new ArrayList<>();
    private RateLimitResponse last;

    @Override
    public void onNext(RateLimitResponse value) {
      last = value;
    }

    @Override
    public void onError(Throwable t) {
      errors.add(t);
    }

    @Override
    public void onCompleted() {
      codes.add(last.getOverallCode());
    }
  }

  private static RateLimitRequest request(RateLimitDescriptor descriptor) {
    return RateLimitRequest.newBuilder()
        .setDomain(XdsNames.RATE_LIMIT_DOMAIN)
        .addDescriptors(descriptor)
        .build();
  }

  private static RateLimitDescriptor descriptor(
      String route, String limit, String... moreKeysAndValues) {
    RateLimitDescriptor.Builder descriptor =
        RateLimitDescriptor.newBuilder()
            .addEntries(entry(XdsNames.RATE_LIMIT_ROUTE_KEY, route))
            .addEntries(entry(XdsNames.RATE_LIMIT_LIMIT_KEY, limit));
    for (int i = 0; i < moreKeysAndValues.length; i += 2) {
      descriptor.addEntries(entry(moreKeysAndValues[i], moreKeysAndValues[i + 1]));
    }
    return descriptor.build();
  }

  private static RateLimitDescriptor.Entry entry(String key, String value) {
    return RateLimitDescriptor.Entry.newBuilder().setKey(key).setValue(value).build();
  }
}
