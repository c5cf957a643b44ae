package io.signalbox.translate;

import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.signalbox.envoy.EnvoyDefaults;
import java.time.Duration;
import java.util.Optional;

/**
 * How long Envoy lets a forwarding route's call take: the route's timeout (Envoy's 15 s when it
 * names none), or for a gRPC service the caller's deadline. A gRPC client sends its deadline with
 * each call ({@code grpc-timeout}), and a server-streaming call may rightly outlive any fixed
 * timeout: Envoy's route timeout would cut such a stream after 15 s whatever its deadline. So for
 * gRPC the route timeout is off, and the stream's duration is bounded instead: by the caller's
 * deadline up to the operator's longest route timeout ({@code limits.maxRouteTimeout}), or without
 * a deadline by the route's timeout as before (Envoy's 15 s, or the operator's longest if shorter,
 * for a route without one: a sidecar's catch-all route to the service). (Envoy Gateway and Istio
 * leave streaming gRPC unbounded by default; here a call without a deadline keeps the bound an HTTP
 * call has.)
 */
final class RouteTimeouts {

  private RouteTimeouts() {}

  static void apply(
      RouteAction.Builder action,
      Optional<Duration> timeout,
      Destination destination,
      Duration longestDeadline) {
    if (!destination.callersDeadline()) {
      timeout.ifPresent(duration -> action.setTimeout(EnvoyProtos.duration(duration)));
      return;
    }
    action
        .setTimeout(EnvoyProtos.duration(Duration.ZERO))
        .setMaxStreamDuration(
            RouteAction.MaxStreamDuration.newBuilder()
                .setMaxStreamDuration(
                    EnvoyProtos.duration(
                        timeout.orElse(
                            java.util.Collections.min(
                                java.util.List.of(EnvoyDefaults.ROUTE_TIMEOUT, longestDeadline)))))
                .setGrpcTimeoutHeaderMax(EnvoyProtos.duration(longestDeadline)));
  }
}
