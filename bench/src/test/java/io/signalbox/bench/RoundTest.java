package io.signalbox.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import org.junit.jupiter.api.Test;

class RoundTest {

  private static ByteString routesWithPrefixes(String... prefixes) {
    VirtualHost.Builder host = VirtualHost.newBuilder().setName("gateway").addDomains("*");
    for (String prefix : prefixes) {
      host.addRoutes(Route.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix(prefix)));
    }
    return RouteConfiguration.newBuilder()
        .setName("gateway-routes")
        .addVirtualHosts(host)
        .build()
        .toByteString();
  }

  @Test
  void aRouteRoundArrivesWithTheRoutePrefixItWaitsFor() {
    assertThat(Round.holdsString(routesWithPrefixes("/svc-1/r11", "/svc-2"), "/svc-1/r11"))
        .isTrue();
  }

  @Test
  void anEarlierRoundsPrefixIsNotTakenForThisRounds() {
    // A late push of round 1's change (or of round 110's) is not round 11's.
    assertThat(Round.holdsString(routesWithPrefixes("/svc-1/r1", "/svc-2"), "/svc-1/r11"))
        .isFalse();
    assertThat(Round.holdsString(routesWithPrefixes("/svc-1/r110"), "/svc-1/r11")).isFalse();
  }
}
