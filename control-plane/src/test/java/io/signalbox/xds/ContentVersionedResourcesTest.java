package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.StringValue;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** A type's version depends on its resources only, never on the snapshots it was made from. */
class ContentVersionedResourcesTest {

  private static final Function<StringValue, String> NAME = value -> value.getValue().split("=")[0];

  @Test
  void aVersionMadeFromAnEarlierSnapshotIsTheVersionMadeFromScratch() {
    Random random = new Random(20261205);
    for (int run = 0; run < 50; run++) {
      Map<String, String> content = new TreeMap<>();
      // Some runs above NameIndex's small-type bound (512), so that its generations are used.
      int names = random.nextInt(run % 2 == 0 ? 600 : 3000);
      for (int i = 0; i < names; i++) {
        content.put("svc-" + random.nextInt(4000), Integer.toString(random.nextInt(5)));
      }
      List<StringValue> resources = resources(content);
      ContentVersionedResources<StringValue> previous =
          ContentVersionedResources.of(resources, NAME, List.of());
      for (int change = 0; change < 20; change++) {
        // Unchanged resources stay the same objects, as translation by difference keeps them.
        Map<String, StringValue> next = new TreeMap<>();
        resources.forEach(value -> next.put(NAME.apply(value), value));
        for (int i = 0; i < 1 + random.nextInt(4); i++) {
          String name = "svc-" + random.nextInt(4000);
          switch (random.nextInt(3)) {
            case 0 -> next.remove(name);
            default -> next.put(name, StringValue.of(name + "=" + random.nextInt(5)));
          }
        }
        resources = new ArrayList<>(next.values());

        ContentVersionedResources<StringValue> byDifference =
            ContentVersionedResources.of(resources, NAME, List.of(previous));
        ContentVersionedResources<StringValue> fromScratch =
            ContentVersionedResources.of(copies(resources), NAME, List.of());

        assertThat(byDifference.version()).isEqualTo(fromScratch.version());
        assertThat(List.copyOf(byDifference.resources().keySet()))
            .as("in name order")
            .isEqualTo(List.copyOf(next.keySet()));
        assertThat(byDifference.resources()).isEqualTo(next);
        next.forEach(
            (name, value) ->
                assertThat(byDifference.versionedResources().get(name).version())
                    .isEqualTo(fromScratch.versionedResources().get(name).version()));
        assertThat(byDifference.resources()).as("a name never there").doesNotContainKey("svc-x");
        for (String before : previous.resources().keySet()) {
          assertThat(byDifference.resources().containsKey(before))
              .as("%s, looked up", before)
              .isEqualTo(next.containsKey(before));
        }
        ResourceDiff known = byDifference.changesSince(previous);
        ResourceDiff walked =
            ResourceDiff.between(previous.versionedResources(), byDifference.versionedResources());
        assertThat(known.added()).containsExactlyInAnyOrderElementsOf(walked.added());
        assertThat(known.modified()).containsExactlyInAnyOrderElementsOf(walked.modified());
        assertThat(known.removed()).containsExactlyInAnyOrderElementsOf(walked.removed());
        previous = byDifference;
      }
    }
  }

  @Test
  void
      aRouteConfigurationWhoseEarlierVersionIsNotInTheFirstEarlierSnapshotIsVersionedAsFromScratch() {
    // A sidecar's outbound routes: made from the fleet's snapshot, which has none of that name,
    // and from the sidecar's snapshot before, which has them.
    List<VirtualHost> hosts = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      hosts.add(host("svc-" + i, "cluster-" + i));
    }
    ContentVersionedResources<RouteConfiguration> fleet =
        ContentVersionedResources.of(List.of(outbound(hosts, "gateway-routes")), ROUTES, List.of());
    ContentVersionedResources<RouteConfiguration> before =
        ContentVersionedResources.of(List.of(outbound(hosts, "outbound")), ROUTES, List.of());
    hosts.set(7, host("svc-7", "cluster-7-v2"));
    RouteConfiguration changed = outbound(hosts, "outbound");

    ContentVersionedResources<RouteConfiguration> next =
        ContentVersionedResources.of(List.of(changed), ROUTES, List.of(fleet, before));

    assertThat(next.version())
        .isEqualTo(ContentVersionedResources.of(List.of(changed), ROUTES, List.of()).version())
        .isNotEqualTo(before.version());
  }

  private static final Function<RouteConfiguration, String> ROUTES = RouteConfiguration::getName;

  private static VirtualHost host(String name, String cluster) {
    return VirtualHost.newBuilder()
        .setName(name)
        .addDomains(name)
        .addRoutes(
            Route.newBuilder()
                .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                .setRoute(RouteAction.newBuilder().setCluster(cluster)))
        .build();
  }

  private static RouteConfiguration outbound(List<VirtualHost> hosts, String name) {
    return RouteConfiguration.newBuilder().setName(name).addAllVirtualHosts(hosts).build();
  }

  @Test
  void anyChangeChangesTheVersion() {
    List<StringValue> resources = resources(Map.of("a", "1", "b", "1", "c", "1"));
    ContentVersionedResources<StringValue> before =
        ContentVersionedResources.of(resources, NAME, List.of());

    assertThat(
            ContentVersionedResources.of(
                    resources(Map.of("a", "1", "b", "2", "c", "1")), NAME, List.of(before))
                .version())
        .isNotEqualTo(before.version());
    assertThat(
            ContentVersionedResources.of(
                    resources(Map.of("a", "1", "c", "1")), NAME, List.of(before))
                .version())
        .isNotEqualTo(before.version());
    assertThat(
            ContentVersionedResources.of(
                    resources(Map.of("a", "1", "b", "1", "c", "1", "d", "1")),
                    NAME,
                    List.of(before))
                .version())
        .isNotEqualTo(before.version());
  }

  private static List<StringValue> resources(Map<String, String> content) {
    List<StringValue> resources = new ArrayList<>();
    new TreeMap<>(content)
        .forEach((name, value) -> resources.add(StringValue.of(name + "=" + value)));
    return resources;
  }

  private static List<StringValue> copies(List<StringValue> resources) {
    return resources.stream().map(value -> StringValue.of(value.getValue())).toList();
  }

  @Test
  void ofEqualNamesTheLastCountsAndNamesOutOfOrderAreCaught() {
    ContentVersionedResources<StringValue> before =
        ContentVersionedResources.of(resources(Map.of("a", "1", "b", "1")), NAME, List.of());
    List<StringValue> twice =
        List.of(StringValue.of("a=1"), StringValue.of("b=1"), StringValue.of("b=2"));

    ContentVersionedResources<StringValue> last =
        ContentVersionedResources.of(twice, NAME, List.of(before));

    assertThat(last.resources()).containsOnlyKeys("a", "b");
    assertThat(last.resources().get("b").getValue()).isEqualTo("b=2");
    assertThat(last.version())
        .isEqualTo(
            ContentVersionedResources.of(resources(Map.of("a", "1", "b", "2")), NAME, List.of())
                .version());
    // Lists come sorted by XdsResources; one that does not is refused, assertions on or off.
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                ContentVersionedResources.of(
                    List.of(StringValue.of("b=1"), StringValue.of("a=1")), NAME, List.of(before)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("out of name order");
  }
}
