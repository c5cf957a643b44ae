package io.signalbox.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.util.Durations;
import io.signalbox.model.RetryPolicy;
import io.signalbox.model.RouteAction;
import io.signalbox.model.TrafficPolicy;
import io.signalbox.registry.v1.OutlierDetection;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.Route;
import io.signalbox.registry.v1.VersionPin;
import io.signalbox.registry.v1.VersionSplit;
import io.signalbox.registry.v1.VersionWeight;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Retry back-off, a route's idle timeout, gateway errors counted apart by outlier detection, and
 * version pins on a cookie: what the validator maps them to, and which field it names when it
 * refuses.
 */
class ResilienceValidationTest {

  private final RegistrationValidator validator =
      new RegistrationValidator(host -> Optional.of("10.0.0.1"));

  private static Route.Builder route() {
    return Route.newBuilder().setPath(PathMatch.newBuilder().setPrefix("/shop"));
  }

  private static RegisterRequest.Builder request(Route.Builder route) {
    return RegisterRequest.newBuilder()
        .setService("shop")
        .setInstance(
            io.signalbox.registry.v1.Instance.newBuilder()
                .setId("shop-1")
                .setHost("10.0.0.7")
                .setPort(8080))
        .addRoutes(route);
  }

  private static RegisterRequest.Builder withTraffic(
      io.signalbox.registry.v1.TrafficPolicy.Builder traffic) {
    return request(route()).setTraffic(traffic);
  }

  private void assertRejected(RegisterRequest.Builder request, String field) {
    assertThatThrownBy(() -> validator.validate(request.build()))
        .isInstanceOf(InvalidFieldException.class)
        .satisfies(e -> assertThat(((InvalidFieldException) e).field()).isEqualTo(field))
        .hasMessageStartingWith(field + ": ");
  }

  private static io.signalbox.registry.v1.RetryPolicy.Builder retry() {
    return io.signalbox.registry.v1.RetryPolicy.newBuilder().setAttempts(2);
  }

  @Test
  void aBackOffBaseWithoutAMaximumGetsTenTimesTheBase() {
    RetryPolicy retry =
        validator
            .validate(
                request(route().setRetry(retry().setBackoffBaseInterval(Durations.fromMillis(50))))
                    .build())
            .routes()
            .get(0)
            .retry()
            .orElseThrow();

    assertThat(retry.backoff())
        .contains(new RetryPolicy.Backoff(Duration.ofMillis(50), Duration.ofMillis(500)));
  }

  @Test
  void aBackOffIsBoundedAndItsMaximumNeedsABase() {
    assertRejected(
        request(route().setRetry(retry().setBackoffBaseInterval(Durations.fromSeconds(11)))),
        "routes[0].retry.backoff_base_interval");
    assertRejected(
        request(
            route()
                .setRetry(
                    retry()
                        .setBackoffBaseInterval(Durations.fromMillis(100))
                        .setBackoffMaxInterval(Durations.fromMillis(50)))),
        "routes[0].retry.backoff_max_interval");
    assertRejected(
        request(route().setRetry(retry().setBackoffMaxInterval(Durations.fromSeconds(1)))),
        "routes[0].retry.backoff_max_interval");
  }

  @Test
  void anIdleTimeoutIsPositiveAndForForwardedRequestsOnly() {
    RouteAction action =
        validator
            .validate(request(route().setIdleTimeout(Durations.fromSeconds(30))).build())
            .routes()
            .get(0)
            .action();

    assertThat(action)
        .isEqualTo(
            RouteAction.Forward.builder().idleTimeout(Optional.of(Duration.ofSeconds(30))).build());
    assertRejected(
        request(route().setIdleTimeout(Durations.fromSeconds(0))), "routes[0].idle_timeout");
    assertRejected(
        request(
            route()
                .setIdleTimeout(Durations.fromSeconds(1))
                .setDirectResponse(
                    io.signalbox.registry.v1.DirectResponse.newBuilder().setStatus(410))),
        "routes[0].idle_timeout");
  }

  @Test
  void gatewayErrorsAreCountedApartUpToAThousand() {
    io.signalbox.registry.v1.TrafficPolicy.Builder traffic =
        io.signalbox.registry.v1.TrafficPolicy.newBuilder()
            .setOutlierDetection(
                OutlierDetection.newBuilder().setConsecutive5Xx(5).setConsecutiveGatewayErrors(2));

    assertThat(
            validator
                .validate(withTraffic(traffic).build())
                .traffic()
                .outlierDetection()
                .orElseThrow()
                .consecutiveGatewayErrors())
        .isEqualTo(2);
    assertRejected(
        withTraffic(
            io.signalbox.registry.v1.TrafficPolicy.newBuilder()
                .setOutlierDetection(
                    OutlierDetection.newBuilder()
                        .setConsecutive5Xx(5)
                        .setConsecutiveGatewayErrors(1001))),
        "traffic.outlier_detection.consecutive_gateway_errors");
  }

  @Test
  void outlierDetectionCountsAndPercentAt2To31AndAboveAreOutOfRangeNotNegative() {
    // uint32 2147483648 arrives as Integer.MIN_VALUE, 4294967295 as -1.
    for (int huge : new int[] {Integer.MIN_VALUE, -1}) {
      String unsigned = Integer.toUnsignedString(huge);
      assertThatThrownBy(
              () ->
                  validator.validate(
                      withTraffic(
                              io.signalbox.registry.v1.TrafficPolicy.newBuilder()
                                  .setOutlierDetection(
                                      OutlierDetection.newBuilder()
                                          .setConsecutive5Xx(5)
                                          .setMaxEjectionPercent(huge)))
                          .build()))
          .isInstanceOf(InvalidFieldException.class)
          .hasMessage(
              "traffic.outlier_detection.max_ejection_percent: "
                  + unsigned
                  + " is out of range 1-100");
      assertThatThrownBy(
              () ->
                  validator.validate(
                      withTraffic(
                              io.signalbox.registry.v1.TrafficPolicy.newBuilder()
                                  .setOutlierDetection(
                                      OutlierDetection.newBuilder()
                                          .setConsecutive5Xx(5)
                                          .setConsecutiveGatewayErrors(huge)))
                          .build()))
          .isInstanceOf(InvalidFieldException.class)
          .hasMessage(
              "traffic.outlier_detection.consecutive_gateway_errors: "
                  + unsigned
                  + " is out of range 0-1000");
      assertThatThrownBy(
              () ->
                  validator.validate(
                      withTraffic(
                              io.signalbox.registry.v1.TrafficPolicy.newBuilder()
                                  .setOutlierDetection(
                                      OutlierDetection.newBuilder().setConsecutive5Xx(huge)))
                          .build()))
          .isInstanceOf(InvalidFieldException.class)
          .hasMessage(
              "traffic.outlier_detection.consecutive_5xx: " + unsigned + " is out of range 1-1000");
    }
  }

  private static io.signalbox.registry.v1.TrafficPolicy.Builder pinned(VersionPin.Builder pin) {
    return io.signalbox.registry.v1.TrafficPolicy.newBuilder()
        .setVersions(
            VersionSplit.newBuilder()
                .addWeights(VersionWeight.newBuilder().setVersion("v1").setWeight(1))
                .addPins(pin.setVersion("v2")));
  }

  @Test
  void aPinIsOnAHeaderOrOnACookieWithAPlainValue() {
    TrafficPolicy.VersionPin pin =
        validator
            .validate(
                withTraffic(pinned(VersionPin.newBuilder().setCookie("canary").setValue("yes")))
                    .build())
            .traffic()
            .versions()
            .orElseThrow()
            .pins()
            .get(0);

    assertThat(pin)
        .isEqualTo(
            new TrafficPolicy.VersionPin(
                TrafficPolicy.VersionPin.PinOn.COOKIE, "canary", "yes", "v2"));
    assertRejected(
        withTraffic(
            pinned(
                VersionPin.newBuilder().setCookie("canary").setHeader("x-canary").setValue("1"))),
        "traffic.versions.pins[0]");
    assertRejected(
        withTraffic(pinned(VersionPin.newBuilder().setValue("1"))), "traffic.versions.pins[0]");
    assertRejected(
        withTraffic(pinned(VersionPin.newBuilder().setCookie("canary").setValue("a;b=c"))),
        "traffic.versions.pins[0].value");
    assertRejected(
        withTraffic(pinned(VersionPin.newBuilder().setCookie("can ary").setValue("yes"))),
        "traffic.versions.pins[0].cookie");
  }

  @Test
  void aCookiePinWhoseRegexWouldBeTooLargeForEnvoyIsRefusedNamingTheCookie() {
    // Name and value may each be 128 characters, but the regex that finds them in the Cookie
    // header must fit Envoy's limit on RE2 programs (100 by default).
    for (VersionPin.Builder pin :
        List.of(
            VersionPin.newBuilder().setCookie("c".repeat(128)).setValue("yes"),
            VersionPin.newBuilder().setCookie("canary").setValue("v".repeat(128)))) {
      assertThatThrownBy(() -> validator.validate(withTraffic(pinned(pin)).build()))
          .isInstanceOf(InvalidFieldException.class)
          .hasMessageStartingWith("traffic.versions.pins[0].cookie: ")
          .hasMessageContaining("in the Cookie header")
          .hasMessageContaining("RE2 instructions; Envoy accepts at most 100");
    }
  }

  @Test
  void aCookiePinIsPricedByTheRegexEnvoyIsGiven() {
    TrafficPolicy.VersionPin pin =
        new TrafficPolicy.VersionPin(
            TrafficPolicy.VersionPin.PinOn.COOKIE, "canary.id", "yes", "v2");

    assertThat(pin.cookieRegex()).isEqualTo("(.*;\\s*)?canary\\.id=yes(;.*)?");
    assertThat(RegexProgramSize.estimate(pin.cookieRegex(), 100)).isLessThanOrEqualTo(100);
  }
}
