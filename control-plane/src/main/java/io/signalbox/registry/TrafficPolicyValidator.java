package io.signalbox.registry;

import static io.signalbox.registry.Fields.HEADER_NAME;
import static io.signalbox.registry.Fields.abbreviate;
import static io.signalbox.registry.Fields.check;

import com.google.protobuf.util.Durations;
import io.signalbox.model.TrafficPolicy;
import io.signalbox.model.UpstreamProtocol;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Checks a registration's traffic policy (load balancing, circuit breakers, outlier detection,
 * version split, health check) and turns it into the model's, naming the field of any refusal.
 */
final class TrafficPolicyValidator {

  private TrafficPolicyValidator() {}

  private static final java.util.regex.Pattern COOKIE_NAME =
      java.util.regex.Pattern.compile("[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}");

  private static final int MAX_CIRCUIT_BREAKER_LIMIT = 1_000_000;

  private static final java.util.regex.Pattern COOKIE_PIN_VALUE =
      java.util.regex.Pattern.compile("[A-Za-z0-9._~-]{1,128}");

  /**
   * @param clientCertificates the names of the operator's client certificates, which {@code
   *     tls.client_certificate} may name
   * @param maxRegexProgramSize the largest RE2 program a regex this policy makes may compile to
   */
  static TrafficPolicy traffic(
      io.signalbox.registry.v1.TrafficPolicy proto,
      UpstreamProtocol protocol,
      Set<String> clientCertificates,
      int maxRegexProgramSize) {
    String field = "traffic.load_balancing";
    io.signalbox.registry.v1.LoadBalancing lb = proto.getLoadBalancing();
    TrafficPolicy.LoadBalancer balancer =
        switch (lb.getAlgorithm()) {
          case ALGORITHM_UNSPECIFIED, ROUND_ROBIN -> TrafficPolicy.LoadBalancer.ROUND_ROBIN;
          case LEAST_REQUEST -> TrafficPolicy.LoadBalancer.LEAST_REQUEST;
          case RING_HASH -> TrafficPolicy.LoadBalancer.RING_HASH;
          case MAGLEV -> TrafficPolicy.LoadBalancer.MAGLEV;
          case UNRECOGNIZED ->
              throw new InvalidFieldException(
                  field + ".algorithm",
                  "is not one of ROUND_ROBIN, LEAST_REQUEST, RING_HASH, MAGLEV (value "
                      + lb.getAlgorithmValue()
                      + ")");
        };
    Optional<TrafficPolicy.HashOn> hashOn =
        switch (lb.getHashOnCase()) {
          case HEADER -> {
            check(
                HEADER_NAME.matcher(lb.getHeader()).matches(),
                field + ".header",
                "'" + abbreviate(lb.getHeader()) + "' is not a lowercase header name");
            yield Optional.of(
                new TrafficPolicy.HashOn(TrafficPolicy.HashOn.Kind.HEADER, lb.getHeader()));
          }
          case COOKIE -> {
            check(
                COOKIE_NAME.matcher(lb.getCookie()).matches(),
                field + ".cookie",
                "'" + abbreviate(lb.getCookie()) + "' is not a cookie name");
            yield Optional.of(
                new TrafficPolicy.HashOn(TrafficPolicy.HashOn.Kind.COOKIE, lb.getCookie()));
          }
          case SOURCE_IP -> {
            check(lb.getSourceIp(), field + ".source_ip", "must be true when set");
            yield Optional.of(new TrafficPolicy.HashOn(TrafficPolicy.HashOn.Kind.SOURCE_IP, ""));
          }
          case HASHON_NOT_SET -> Optional.empty();
        };
    check(
        !balancer.hashing() || hashOn.isPresent(),
        field + ".hash_on",
        balancer + " needs a hash key: header, cookie or source_ip");
    check(
        balancer.hashing() || hashOn.isEmpty(),
        field + ".hash_on",
        "goes only with RING_HASH or MAGLEV, not " + balancer);
    Optional<TrafficPolicy.CircuitBreaker> breaker = Optional.empty();
    if (proto.hasCircuitBreaker()) {
      io.signalbox.registry.v1.CircuitBreaker cb = proto.getCircuitBreaker();
      breaker =
          Optional.of(
              new TrafficPolicy.CircuitBreaker(
                  limit("traffic.circuit_breaker.max_connections", cb.getMaxConnections()),
                  limit("traffic.circuit_breaker.max_pending_requests", cb.getMaxPendingRequests()),
                  limit("traffic.circuit_breaker.max_requests", cb.getMaxRequests()),
                  limit("traffic.circuit_breaker.max_retries", cb.getMaxRetries())));
    }
    Optional<TrafficPolicy.OutlierDetection> outliers = Optional.empty();
    if (proto.hasOutlierDetection()) {
      io.signalbox.registry.v1.OutlierDetection od = proto.getOutlierDetection();
      String at = "traffic.outlier_detection";
      // uint32 on the wire: compare unsigned, or 2^31 and above would pass as negative ints.
      check(
          od.getConsecutive5Xx() >= 1 && Integer.compareUnsigned(od.getConsecutive5Xx(), 1000) <= 0,
          at + ".consecutive_5xx",
          Integer.toUnsignedString(od.getConsecutive5Xx()) + " is out of range 1-1000");
      check(
          Integer.compareUnsigned(od.getMaxEjectionPercent(), 100) <= 0,
          at + ".max_ejection_percent",
          Integer.toUnsignedString(od.getMaxEjectionPercent()) + " is out of range 1-100");
      check(
          Integer.compareUnsigned(od.getConsecutiveGatewayErrors(), 1000) <= 0,
          at + ".consecutive_gateway_errors",
          Integer.toUnsignedString(od.getConsecutiveGatewayErrors()) + " is out of range 0-1000");
      outliers =
          Optional.of(
              new TrafficPolicy.OutlierDetection(
                  od.getConsecutive5Xx(),
                  od.hasInterval()
                      ? shortDuration(at + ".interval", od.getInterval())
                      : Duration.ofSeconds(10),
                  od.hasBaseEjectionTime()
                      ? shortDuration(at + ".base_ejection_time", od.getBaseEjectionTime())
                      : Duration.ofSeconds(30),
                  od.getMaxEjectionPercent() == 0 ? 10 : od.getMaxEjectionPercent(),
                  od.getConsecutiveGatewayErrors()));
    }
    Optional<TrafficPolicy.VersionSplit> versions =
        proto.hasVersions()
            ? Optional.of(versions(proto.getVersions(), maxRegexProgramSize))
            : Optional.empty();
    Optional<TrafficPolicy.HealthCheck> healthCheck =
        proto.hasHealthCheck()
            ? Optional.of(healthCheck(proto.getHealthCheck(), protocol))
            : Optional.empty();
    Optional<TrafficPolicy.UpstreamTls> tls =
        proto.hasTls()
            ? Optional.of(
                UpstreamTlsValidator.tls("traffic.tls", proto.getTls(), clientCertificates))
            : Optional.empty();
    return new TrafficPolicy(
        balancer, hashOn, breaker, outliers, versions, healthCheck, tls, lb.getPreferLocalZone());
  }

  private static TrafficPolicy.HealthCheck healthCheck(
      io.signalbox.registry.v1.HealthCheck proto, UpstreamProtocol protocol) {
    String field = "traffic.health_check";
    TrafficPolicy.HealthCheck.Kind kind;
    String target;
    switch (proto.getKindCase()) {
      case HTTP_PATH -> {
        kind = TrafficPolicy.HealthCheck.Kind.HTTP;
        target = RegistrationValidator.path(field + ".http_path", proto.getHttpPath());
      }
      case GRPC_SERVICE -> {
        check(
            protocol.http2(),
            field + ".grpc_service",
            "a gRPC health check needs upstream_protocol GRPC or HTTP2");
        check(
            proto.getGrpcService().length() <= 256
                && SERVICE_NAME_CHARS.matcher(proto.getGrpcService()).matches(),
            field + ".grpc_service",
            "'" + abbreviate(proto.getGrpcService()) + "' is not a gRPC service name");
        kind = TrafficPolicy.HealthCheck.Kind.GRPC;
        target = proto.getGrpcService();
      }
      default -> throw new InvalidFieldException(field, "needs http_path or grpc_service");
    }
    Duration interval =
        proto.hasInterval()
            ? bounded(
                field + ".interval",
                proto.getInterval(),
                Duration.ofMillis(100),
                Duration.ofHours(1))
            : Duration.ofSeconds(5);
    Duration timeout =
        proto.hasTimeout()
            ? bounded(
                field + ".timeout",
                proto.getTimeout(),
                Duration.ofMillis(10),
                Duration.ofMinutes(1))
            : Duration.ofSeconds(1);
    int unhealthy = proto.getUnhealthyThreshold() == 0 ? 2 : proto.getUnhealthyThreshold();
    int healthy = proto.getHealthyThreshold() == 0 ? 1 : proto.getHealthyThreshold();
    check(
        unhealthy >= 1 && unhealthy <= 100,
        field + ".unhealthy_threshold",
        Integer.toUnsignedString(unhealthy) + " is out of range 1-100");
    check(
        healthy >= 1 && healthy <= 100,
        field + ".healthy_threshold",
        Integer.toUnsignedString(healthy) + " is out of range 1-100");
    return new TrafficPolicy.HealthCheck(kind, target, interval, timeout, unhealthy, healthy);
  }

  private static final java.util.regex.Pattern SERVICE_NAME_CHARS =
      java.util.regex.Pattern.compile("[A-Za-z0-9._]*");

  private static Duration bounded(
      String field, com.google.protobuf.Duration proto, Duration min, Duration max) {
    check(Durations.isValid(proto), field, "is not a valid duration");
    Duration value = Duration.ofSeconds(proto.getSeconds(), proto.getNanos());
    check(
        value.compareTo(min) >= 0 && value.compareTo(max) <= 0,
        field,
        "must be between " + min.toMillis() + " ms and " + max.toSeconds() + " s");
    return value;
  }

  private static final java.util.regex.Pattern VERSION =
      java.util.regex.Pattern.compile("[A-Za-z0-9._-]{1,63}");

  private static TrafficPolicy.VersionSplit versions(
      io.signalbox.registry.v1.VersionSplit proto, int maxRegexProgramSize) {
    String field = "traffic.versions";
    check(
        proto.getWeightsCount() >= 1 && proto.getWeightsCount() <= 10,
        field + ".weights",
        "needs 1-10 versions, has " + proto.getWeightsCount());
    List<TrafficPolicy.VersionWeight> weights = new ArrayList<>();
    Set<String> seen = new java.util.HashSet<>();
    long total = 0;
    for (int i = 0; i < proto.getWeightsCount(); i++) {
      io.signalbox.registry.v1.VersionWeight weight = proto.getWeights(i);
      String at = field + ".weights[" + i + "]";
      version(at + ".version", weight.getVersion());
      check(
          seen.add(weight.getVersion()),
          at + ".version",
          "'" + weight.getVersion() + "' is listed twice");
      check(
          weight.getWeight() >= 0 && weight.getWeight() <= 1000,
          at + ".weight",
          Integer.toUnsignedString(weight.getWeight()) + " is out of range 0-1000");
      total += weight.getWeight();
      weights.add(new TrafficPolicy.VersionWeight(weight.getVersion(), weight.getWeight()));
    }
    check(total > 0, field + ".weights", "every weight is 0");
    check(proto.getPinsCount() <= 10, field + ".pins", "has more than 10");
    List<TrafficPolicy.VersionPin> pins = new ArrayList<>();
    for (int i = 0; i < proto.getPinsCount(); i++) {
      io.signalbox.registry.v1.VersionPin pin = proto.getPins(i);
      String at = field + ".pins[" + i + "]";
      check(
          pin.getHeader().isEmpty() != pin.getCookie().isEmpty(),
          at,
          "needs exactly one of header and cookie");
      TrafficPolicy.VersionPin.PinOn on;
      String name;
      if (pin.getCookie().isEmpty()) {
        check(
            HEADER_NAME.matcher(pin.getHeader()).matches(),
            at + ".header",
            "'" + abbreviate(pin.getHeader()) + "' is not a lowercase header name");
        check(
            !pin.getValue().isEmpty() && pin.getValue().length() <= 128,
            at + ".value",
            "must be 1-128 characters");
        on = TrafficPolicy.VersionPin.PinOn.HEADER;
        name = pin.getHeader();
      } else {
        check(
            COOKIE_NAME.matcher(pin.getCookie()).matches(),
            at + ".cookie",
            "'" + abbreviate(pin.getCookie()) + "' is not a cookie name");
        // Matched by a regular expression over the Cookie header: plain characters only.
        check(
            COOKIE_PIN_VALUE.matcher(pin.getValue()).matches(),
            at + ".value",
            "a cookie's value must be 1-128 letters, digits, '.', '_', '~' and '-'");
        on = TrafficPolicy.VersionPin.PinOn.COOKIE;
        name = pin.getCookie();
      }
      version(at + ".version", pin.getVersion());
      TrafficPolicy.VersionPin versionPin =
          new TrafficPolicy.VersionPin(on, name, pin.getValue(), pin.getVersion());
      if (on == TrafficPolicy.VersionPin.PinOn.COOKIE) {
        // Envoy compiles the regex that finds the cookie in the Cookie header: long names and
        // values make it too large.
        RegexProgramSize.check(
            at + ".cookie",
            "the regex finding it with its value in the Cookie header, '"
                + abbreviate(versionPin.cookieRegex())
                + "',",
            versionPin.cookieRegex(),
            maxRegexProgramSize);
      }
      pins.add(versionPin);
    }
    return new TrafficPolicy.VersionSplit(weights, pins);
  }

  private static void version(String field, String version) {
    check(
        VERSION.matcher(version).matches(),
        field,
        "'" + abbreviate(version) + "' is not a version (1-63 of [A-Za-z0-9._-])");
  }

  private static int limit(String field, int value) {
    check(
        value >= 0 && value <= MAX_CIRCUIT_BREAKER_LIMIT,
        field,
        Integer.toUnsignedString(value) + " is out of range 0-" + MAX_CIRCUIT_BREAKER_LIMIT);
    return value;
  }

  /** A positive duration of at most an hour. */
  private static Duration shortDuration(String field, com.google.protobuf.Duration proto) {
    check(
        Durations.isValid(proto) && Durations.isPositive(proto),
        field,
        "must be a positive duration");
    Duration value = Duration.ofSeconds(proto.getSeconds(), proto.getNanos());
    check(value.compareTo(Duration.ofHours(1)) <= 0, field, "must be at most 1h");
    return value;
  }
}
