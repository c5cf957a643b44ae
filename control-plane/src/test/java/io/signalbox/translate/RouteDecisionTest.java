package io.signalbox.translate;

import static org.assertj.core.api.Assertions.assertThat;

import io.signalbox.config.GatewaySettings;
import io.signalbox.model.AuthRequirement;
import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.RateLimit;
import io.signalbox.model.RouteAction;
import io.signalbox.model.RouteSpec;
import io.signalbox.model.ServiceState;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** What operators are told of a route is what the translator decided for it. */
class RouteDecisionTest {

  private static ServiceState service(int applicationPort, RouteSpec route) {
    return new ServiceState(
        "orders",
        List.of(route),
        List.of(
            new Instance(
                "orders-1", "10.0.0.7", "10.0.0.7", 9000, "", 1, Map.of(), applicationPort)));
  }

  @Test
  void aRouteWhoseJwtProviderIsGoneFailsClosedAndSaysWhy() {
    RouteSpec route =
        RouteSpec.builder(PathMatch.prefix("/orders")).auth(AuthRequirement.of("corp")).build();

    RouteDecision decision = RouteDecision.of(service(0, route), route, GatewaySettings.DEFAULT);

    assertThat(decision.action())
        .isEqualTo("fail closed 503: JWT provider 'corp' is not configured on this gateway");
    assertThat(decision.enforcedBySidecars()).isFalse();
  }

  @Test
  void redirectsAndDirectResponsesSayWhatTheyAnswer() {
    RouteSpec redirect =
        RouteSpec.builder(PathMatch.exact("/old"))
            .action(
                new RouteAction.Redirect(
                    Optional.empty(), Optional.empty(), 0, Optional.of("/new"), 301, false))
            .build();
    RouteSpec teapot =
        RouteSpec.builder(PathMatch.exact("/tea"))
            .action(new RouteAction.DirectResponse(418, "short and stout"))
            .build();

    assertThat(RouteDecision.of(service(0, redirect), redirect, GatewaySettings.DEFAULT).action())
        .isEqualTo("redirect 301");
    assertThat(RouteDecision.of(service(0, teapot), teapot, GatewaySettings.DEFAULT).action())
        .isEqualTo("direct response 418");
  }

  @Test
  void theSidecarsEnforceAServicesLimitOnceEveryInstanceHasOne() {
    RouteSpec route =
        RouteSpec.builder(PathMatch.prefix("/orders"))
            .rateLimit(RateLimit.local(10, RateLimit.Unit.SECOND))
            .build();

    RouteDecision edge = RouteDecision.of(service(0, route), route, GatewaySettings.DEFAULT);
    RouteDecision sidecars = RouteDecision.of(service(8080, route), route, GatewaySettings.DEFAULT);

    assertThat(edge.action()).isEqualTo("forward");
    assertThat(edge.rateLimit()).isPresent();
    assertThat(edge.enforcedBySidecars()).isFalse();
    assertThat(sidecars.enforcedBySidecars()).isTrue();
    assertThat(sidecars.rateLimit()).isEqualTo(edge.rateLimit());
  }

  @Test
  void aServiceWideGlobalLimitIsInForceOnItsForwardingRoutesOnlyAndALocalOneOnEveryRoute() {
    RateLimit global = RateLimit.global(10, RateLimit.Unit.MINUTE);
    RateLimit local = RateLimit.local(10, RateLimit.Unit.MINUTE);
    RouteAction.DirectResponse gone = new RouteAction.DirectResponse(410, "");

    assertThat(decided(RouteSpec.builder(PathMatch.prefix("/orders")).rateLimit(global)))
        .contains(global);
    assertThat(decided(RouteSpec.builder(PathMatch.exact("/old")).rateLimit(global).action(gone)))
        .as("no forwarding action to count on")
        .isEmpty();
    assertThat(decided(RouteSpec.builder(PathMatch.exact("/old")).rateLimit(local).action(gone)))
        .contains(local);
  }

  private static Optional<RateLimit> decided(RouteSpec.Builder route) {
    RouteSpec spec = route.build();
    return RouteDecision.of(service(0, spec), spec, GatewaySettings.DEFAULT).rateLimit();
  }

  @Test
  void aForwardingRouteNamesWhereItsRequestsGoWithTheServicesVersionSplitAndPins() {
    RouteSpec route = RouteSpec.builder(PathMatch.prefix("/orders")).build();
    RouteSpec teapot =
        RouteSpec.builder(PathMatch.exact("/tea"))
            .action(new RouteAction.DirectResponse(418, "short and stout"))
            .build();
    ServiceState split =
        splitBetweenVersions(
            List.of(route, teapot),
            new io.signalbox.model.TrafficPolicy.VersionSplit(
                List.of(
                    new io.signalbox.model.TrafficPolicy.VersionWeight("v1", 90),
                    new io.signalbox.model.TrafficPolicy.VersionWeight("v2", 10)),
                List.of(
                    io.signalbox.model.TrafficPolicy.VersionPin.header("x-canary", "1", "v2"))));

    assertThat(RouteDecision.of(service(0, route), route, GatewaySettings.DEFAULT).destination())
        .contains("orders");
    assertThat(RouteDecision.of(split, route, GatewaySettings.DEFAULT).destination())
        .contains("orders (v1 90 %, v2 10 %; header x-canary=1 to v2)");
    assertThat(RouteDecision.of(split, teapot, GatewaySettings.DEFAULT).destination())
        .as("a route that answers by itself goes nowhere")
        .isEmpty();
  }

  @Test
  void aVersionSplitIsShownAsEachVersionsShareOfTheRequests() {
    RouteSpec route = RouteSpec.builder(PathMatch.prefix("/orders")).build();
    ServiceState split =
        splitBetweenVersions(
            List.of(route),
            new io.signalbox.model.TrafficPolicy.VersionSplit(
                List.of(
                    new io.signalbox.model.TrafficPolicy.VersionWeight("v1", 2),
                    new io.signalbox.model.TrafficPolicy.VersionWeight("v2", 1),
                    new io.signalbox.model.TrafficPolicy.VersionWeight("v3", 0)),
                List.of()));

    assertThat(RouteDecision.of(split, route, GatewaySettings.DEFAULT).destination())
        .as("weights are relative; a version of weight 0 gets nothing")
        .contains("orders (v1 66.7 %, v2 33.3 %)");
  }

  /** Service orders with {@code routes}, its instances of {@code service(0, ...)}, split so. */
  private static ServiceState splitBetweenVersions(
      List<RouteSpec> routes, io.signalbox.model.TrafficPolicy.VersionSplit versions) {
    return new ServiceState(
        "orders",
        routes,
        service(0, routes.get(0)).instances(),
        io.signalbox.model.UpstreamProtocol.HTTP1,
        new io.signalbox.model.TrafficPolicy(
            io.signalbox.model.TrafficPolicy.LoadBalancer.ROUND_ROBIN,
            Optional.empty(),
            Optional.empty(),
            Optional.empty(),
            Optional.of(versions),
            Optional.empty(),
            Optional.empty(),
            false));
  }
}
