package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A route configuration's version: digested as a tree, and still a function of its content. */
class ContentHashTest {

  private static Route route(String prefix, String cluster) {
    return Route.newBuilder()
        .setMatch(RouteMatch.newBuilder().setPrefix(prefix))
        .setRoute(RouteAction.newBuilder().setCluster(cluster))
        .build();
  }

  private static RouteConfiguration configuration(List<String> domains, Route... routes) {
    return RouteConfiguration.newBuilder()
        .setName("gateway-routes")
        .addVirtualHosts(
            VirtualHost.newBuilder()
                .setName("any")
                .addAllDomains(domains)
                .addAllRoutes(List.of(routes)))
        .build();
  }

  @Test
  void equalConfigurationsMadeApartHaveOneVersion() {
    RouteConfiguration one =
        configuration(List.of("*"), route("/a", "svc-a"), route("/b", "svc-b"));
    RouteConfiguration other =
        configuration(List.of("*"), route("/a", "svc-a"), route("/b", "svc-b"));

    assertThat(other).isNotSameAs(one);
    assertThat(ContentHash.of(other)).isEqualTo(ContentHash.of(one));
  }

  @Test
  void everyPartOfAConfigurationCountsRouteOrderToo() {
    Route a = route("/a", "svc-a");
    Route b = route("/b", "svc-b");
    String version = ContentHash.of(configuration(List.of("*"), a, b));

    assertThat(ContentHash.of(configuration(List.of("*"), b, a))).isNotEqualTo(version);
    assertThat(ContentHash.of(configuration(List.of("*"), a, route("/b", "svc-c"))))
        .isNotEqualTo(version);
    assertThat(ContentHash.of(configuration(List.of("example.com"), a, b))).isNotEqualTo(version);
    assertThat(
            ContentHash.of(
                configuration(List.of("*"), a, b).toBuilder().setName("other-routes").build()))
        .isNotEqualTo(version);
    assertThat(
            ContentHash.of(
                configuration(List.of("*"), a).toBuilder()
                    .addVirtualHosts(
                        VirtualHost.newBuilder().setName("any").addDomains("*").addRoutes(b))
                    .build()))
        .as("a route moved to a virtual host of its own")
        .isNotEqualTo(version);
  }

  @Test
  void aVersionThatTakesTheDigestsOfKeptPartsIsTheVersionFromScratch() {
    Route a = route("/a", "svc-a");
    RouteConfiguration first = configuration(List.of("*"), a, route("/b", "svc-b"));
    ContentHash.Digest digest = ContentHash.of(first, null);
    RouteConfiguration routeChanged = configuration(List.of("*"), a, route("/b", "svc-c"));
    RouteConfiguration renamed = first.toBuilder().setName("other-routes").build();

    assertThat(digest.parts()).containsKeys(a, first.getVirtualHosts(0));
    assertThat(ContentHash.of(routeChanged, digest.parts()).version())
        .isEqualTo(ContentHash.of(routeChanged));
    assertThat(ContentHash.of(renamed, digest.parts()).version())
        .as("the very same virtual host, kept whole")
        .isEqualTo(ContentHash.of(renamed));
  }
}
