package io.signalbox.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

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
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.signalbox.translate.XdsNames;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The service as Envoy sees it: descriptors in, OK / OVER_LIMIT with the figures for x-ratelimit-* out. */
class BuiltInRateLimitServiceTest {

  /** 12:00:45: a quarter of a minute before the window ends. */
  private final AtomicLong now = new AtomicLong(Duration.ofDays(20_000).plusHours(12).plusSeconds(45).toMillis());
  private final BuiltInRateLimitService service = new BuiltInRateLimitService(now::get, 10_000);
  private Server server;
  private ManagedChannel channel;
  private RateLimitServiceGrpc.RateLimitServiceBlockingStub stub;

  @BeforeEach
  void startServer() throws Exception {
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).directExecutor().addService(service).build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    stub = RateLimitServiceGrpc.newBlockingStub(channel);
  }

  @AfterEach
  void stopServer() {
    channel.shutdownNow();
    server.shutdownNow();
  }

  @Test
  void allowsUpToTheLimitThenAnswersOverLimitWithTheFiguresForTheHeaders() {
    RateLimitDescriptor orders = descriptor("orders: prefix /orders", "3/MINUTE");
    List<RateLimitResponse> answers = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      answers.add(stub.shouldRateLimit(request(orders)));
    }

    assertThat(answers).extracting(RateLimitResponse::getOverallCode)
        .containsExactly(Code.OK, Code.OK, Code.OK, Code.OVER_LIMIT);
    assertThat(answers).extracting(a -> a.getStatuses(0).getLimitRemaining()).containsExactly(2, 1, 0, 0);
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

    now.addAndGet(Duration.ofSeconds(15).toMillis() - 1);
    assertThat(stub.shouldRateLimit(request(orders)).getOverallCode()).as("12:00:59.999").isEqualTo(Code.OVER_LIMIT);
    now.addAndGet(1);
    RateLimitResponse fresh = stub.shouldRateLimit(request(orders));
    assertThat(fresh.getOverallCode()).as("12:01:00.000").isEqualTo(Code.OK);
    assertThat(Durations.toMillis(fresh.getStatuses(0).getDurationUntilReset())).isEqualTo(60_000);
  }

  @Test
  void eachDescriptorHasItsOwnCount() {
    RateLimitDescriptor tenantA = descriptor("reports", "1/HOUR", XdsNames.rateLimitHeaderKey("x-tenant"), "a");
    RateLimitDescriptor tenantB = descriptor("reports", "1/HOUR", XdsNames.rateLimitHeaderKey("x-tenant"), "b");
    RateLimitDescriptor otherRoute = descriptor("orders", "1/HOUR", XdsNames.rateLimitHeaderKey("x-tenant"), "a");
    RateLimitDescriptor changedLimit = descriptor("reports", "2/HOUR", XdsNames.rateLimitHeaderKey("x-tenant"), "a");

    assertThat(stub.shouldRateLimit(request(tenantA)).getOverallCode()).isEqualTo(Code.OK);
    assertThat(stub.shouldRateLimit(request(tenantA)).getOverallCode()).isEqualTo(Code.OVER_LIMIT);
    assertThat(stub.shouldRateLimit(request(tenantB)).getOverallCode()).isEqualTo(Code.OK);
    assertThat(stub.shouldRateLimit(request(otherRoute)).getOverallCode()).isEqualTo(Code.OK);
    assertThat(stub.shouldRateLimit(request(changedLimit)).getOverallCode())
        .as("a changed limit is a new descriptor, counted afresh").isEqualTo(Code.OK);
  }

  @Test
  void descriptorsWithoutASignalboxLimitAndOtherDomainsAreNotLimited() {
    RateLimitDescriptor foreign = RateLimitDescriptor.newBuilder()
        .addEntries(RateLimitDescriptor.Entry.newBuilder().setKey("generic_key").setValue("x")).build();
    RateLimitDescriptor garbled = descriptor("orders", "ten/MINUTE");
    RateLimitDescriptor unknownUnit = descriptor("orders", "10/FORTNIGHT");

    RateLimitResponse answer = stub.shouldRateLimit(RateLimitRequest.newBuilder()
        .setDomain(XdsNames.RATE_LIMIT_DOMAIN)
        .addDescriptors(foreign).addDescriptors(garbled).addDescriptors(unknownUnit).build());

    assertThat(answer.getOverallCode()).isEqualTo(Code.OK);
    assertThat(answer.getStatusesList()).hasSize(3)
        .allSatisfy(status -> {
          assertThat(status.getCode()).isEqualTo(Code.OK);
          assertThat(status.hasCurrentLimit()).isFalse();
        });
    RateLimitDescriptor ours = descriptor("orders", "1/MINUTE");
    RateLimitRequest otherDomain = RateLimitRequest.newBuilder().setDomain("someone-else").addDescriptors(ours)
        .build();
    assertThat(stub.shouldRateLimit(otherDomain).getOverallCode()).isEqualTo(Code.OK);
    assertThat(stub.shouldRateLimit(otherDomain).getOverallCode()).isEqualTo(Code.OK);
    assertThat(service.counters().size()).isZero();
  }

  @Test
  void overallOverLimitWhenAnyDescriptorIsWithStatusesInRequestOrder() {
    RateLimitDescriptor tight = descriptor("tight", "1/MINUTE");
    RateLimitDescriptor loose = descriptor("loose", "100/MINUTE");
    stub.shouldRateLimit(request(tight));

    RateLimitResponse answer = stub.shouldRateLimit(RateLimitRequest.newBuilder()
        .setDomain(XdsNames.RATE_LIMIT_DOMAIN).addDescriptors(loose).addDescriptors(tight).build());

    assertThat(answer.getOverallCode()).isEqualTo(Code.OVER_LIMIT);
    assertThat(answer.getStatusesList()).extracting(DescriptorStatus::getCode)
        .containsExactly(Code.OK, Code.OVER_LIMIT);
  }

  @Test
  void hitsAddendCountsSeveralHitsAtOnceAndADescriptorsOwnAddendWins() {
    RateLimitDescriptor orders = descriptor("orders", "10/MINUTE");
    RateLimitResponse seven = stub.shouldRateLimit(request(orders).toBuilder().setHitsAddend(7).build());
    assertThat(seven.getStatuses(0).getLimitRemaining()).isEqualTo(3);

    RateLimitDescriptor withOwnAddend = orders.toBuilder().setHitsAddend(UInt64Value.of(3)).build();
    RateLimitResponse ten = stub.shouldRateLimit(RateLimitRequest.newBuilder().setDomain(XdsNames.RATE_LIMIT_DOMAIN)
        .setHitsAddend(50).addDescriptors(withOwnAddend).build());
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
        allowed.add(pool.submit(() -> {
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

  private static RateLimitRequest request(RateLimitDescriptor descriptor) {
    return RateLimitRequest.newBuilder().setDomain(XdsNames.RATE_LIMIT_DOMAIN).addDescriptors(descriptor).build();
  }

  private static RateLimitDescriptor descriptor(String route, String limit, String... moreKeysAndValues) {
    RateLimitDescriptor.Builder descriptor = RateLimitDescriptor.newBuilder()
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
