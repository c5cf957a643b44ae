package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.signalbox.metrics.SignalboxMetrics;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * A state-of-the-world fleet names the same resources on every stream: the names are kept as one
 * list for all, compared by identity and hashed once, because a type's version over them is looked
 * up for every stream before every publication.
 */
class RequestedNamesTest {

  private static final String EDS = Resources.V3.ENDPOINT_TYPE_URL;

  private static List<String> clusters(int count) {
    return IntStream.range(0, count).mapToObj(i -> "svc-" + i).toList();
  }

  @Test
  void streamsNamingTheSameResourcesShareOneListOfThem() {
    List<String> first = RequestedNames.of(new ArrayList<>(clusters(10_000)));
    List<String> second = RequestedNames.of(new ArrayList<>(clusters(10_000)));

    assertThat(second).isSameAs(first);
    assertThat(RequestedNames.of(clusters(3))).isNotSameAs(first);
  }

  @Test
  void itIsAListLikeAnyOther() {
    List<String> names = clusters(5);
    List<String> shared = RequestedNames.of(names);

    assertThat(shared).isEqualTo(names).hasSameHashCodeAs(names);
    assertThat(names).isEqualTo(shared);
    assertThat(shared).isNotEqualTo(clusters(4)).isNotEqualTo(RequestedNames.of(clusters(4)));
    assertThat(RequestedNames.of(List.of())).isEmpty();
  }

  @Test
  void aStreamAnsweringWithTheSameNamesKeepsTheListItHolds() {
    StreamRecord stream =
        new StreamRecord(
            1,
            Node.newBuilder().setId("edge-1").setCluster("edge").build(),
            "edge",
            ProxyStatusTracker.Mode.SOTW,
            new AtomicInteger(),
            Clock.systemUTC(),
            SignalboxMetrics.noop());
    stream.record(
        DiscoveryRequest.newBuilder().setTypeUrl(EDS).addAllResourceNames(clusters(100)).build());
    List<String> held = stream.type(EDS).requestedNames;
    stream.sent(
        DiscoveryResponse.newBuilder().setTypeUrl(EDS).setVersionInfo("v1").setNonce("1").build());

    stream.record(
        DiscoveryRequest.newBuilder()
            .setTypeUrl(EDS)
            .setVersionInfo("v1")
            .setResponseNonce("1")
            .addAllResourceNames(clusters(100))
            .build());

    assertThat(stream.type(EDS).requestedNames).isSameAs(held).isEqualTo(clusters(100));
  }
}
