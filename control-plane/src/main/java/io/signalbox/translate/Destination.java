package io.signalbox.translate;

import io.signalbox.model.ServiceState;
import io.signalbox.model.TrafficPolicy;
import io.signalbox.model.UpstreamProtocol;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Where a forwarding route sends its requests, as decided before anything is rendered: the
 * service's cluster, spread over its versions when it splits them, or to the one version a pin
 * chose, balanced on the service's hash key. The edge's routes and the sidecars' outbound routes to
 * a service are rendered from it alike ({@link TrafficPolicyTranslator#routeAction}); the pins'
 * copies of a route are the edge's only (the outbound routes go to the split).
 *
 * @param versions the split over versions; empty for a route that goes to the whole cluster or to a
 *     pinned version
 * @param pinnedVersion the one version a pinned route goes to
 * @param callersDeadline the instances speak gRPC, whose callers send their deadline with each call
 *     ({@code grpc-timeout}): it bounds the call, up to the operator's longest route timeout, in
 *     place of the route's timeout, which bounds only calls without one ({@link RouteTimeouts})
 */
record Destination(
    String service,
    Optional<TrafficPolicy.VersionSplit> versions,
    Optional<String> pinnedVersion,
    Optional<TrafficPolicy.HashOn> hashOn,
    boolean callersDeadline) {

  /** Every route of {@code service} that forwards and is not pinned goes here. */
  static Destination of(ServiceState service) {
    return new Destination(
        service.name(),
        service.traffic().versions(),
        Optional.empty(),
        service.traffic().hashOn(),
        service.protocol() == UpstreamProtocol.GRPC);
  }

  /** This destination's one {@code version}, for a route a version pin placed. */
  Destination pinnedTo(String version) {
    return new Destination(
        service, Optional.empty(), Optional.of(version), hashOn, callersDeadline);
  }

  String cluster() {
    return XdsNames.serviceCluster(service);
  }

  /**
   * For operators: {@code orders}, {@code orders (v1 90 %, v2 10 %; header x-canary=1 to v2)}, or
   * {@code orders (version v2)} for a pinned route.
   */
  String describe() {
    if (pinnedVersion.isPresent()) {
      return service + " (version " + pinnedVersion.get() + ")";
    }
    return versions
        .map(
            split -> {
              // Weights are relative: each is shown as its share of the requests, and a version
              // of weight 0 gets none (its cluster is left out of the split too).
              int total = split.weights().stream().mapToInt(weight -> weight.weight()).sum();
              String weights =
                  split.weights().stream()
                      .filter(weight -> weight.weight() > 0)
                      .map(weight -> weight.version() + " " + percent(weight.weight(), total))
                      .collect(Collectors.joining(", "));
              String pins =
                  split.pins().stream()
                      .map(
                          pin ->
                              pin.on().name().toLowerCase(java.util.Locale.ROOT)
                                  + " "
                                  + pin.name()
                                  + "="
                                  + pin.value()
                                  + " to "
                                  + pin.version())
                      .collect(Collectors.joining(", "));
              return service + " (" + weights + (pins.isEmpty() ? "" : "; " + pins) + ")";
            })
        .orElse(service);
  }

  /** {@code part} of {@code total} in percent, to a tenth: {@code 90 %}, {@code 66.7 %}. */
  private static String percent(int part, int total) {
    long tenths = Math.round(1000.0 * part / total);
    return (tenths % 10 == 0 ? String.valueOf(tenths / 10) : tenths / 10 + "." + tenths % 10)
        + " %";
  }
}
