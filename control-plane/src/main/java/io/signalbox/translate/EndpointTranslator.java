package io.signalbox.translate;

import com.google.protobuf.Struct;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.signalbox.model.Instance;
import io.signalbox.model.ServiceState;
import io.signalbox.model.TrafficPolicy;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * A service's live instances as a ClusterLoadAssignment, grouped by zone. Locality weights are not
 * set, so Envoy balances across all zones by endpoint weight; Envoys in a zone are sent their own
 * zone first for services that prefer it ({@link LocalZonePreference}).
 */
final class EndpointTranslator {

  /**
   * Metadata namespace under which each endpoint names its instance, visible in Envoy's config
   * dump.
   */
  static final String METADATA_NAMESPACE = "signalbox";

  ClusterLoadAssignment loadAssignment(ServiceState service) {
    Map<String, List<Instance>> byZone =
        service.instances().stream()
            .collect(Collectors.groupingBy(Instance::zone, TreeMap::new, Collectors.toList()));
    ClusterLoadAssignment.Builder assignment =
        ClusterLoadAssignment.newBuilder().setClusterName(XdsNames.serviceCluster(service.name()));
    byZone.forEach(
        (zone, instances) -> {
          LocalityLbEndpoints.Builder locality = LocalityLbEndpoints.newBuilder();
          if (!zone.isEmpty()) {
            locality.setLocality(Locality.newBuilder().setZone(zone));
          }
          instances.forEach(
              instance ->
                  locality.addLbEndpoints(lbEndpoint(instance, service.serving(instance.id()))));
          assignment.addEndpoints(locality);
        });
    return assignment.build();
  }

  /**
   * An instance that reported itself NOT_SERVING stays in the assignment as UNHEALTHY: Envoy sends
   * it no new requests (unless too few healthy ones are left: Envoy's panic threshold) and shows
   * why in its admin page.
   */
  private static LbEndpoint lbEndpoint(Instance instance, boolean serving) {
    Metadata.Builder metadata =
        Metadata.newBuilder()
            .putFilterMetadata(
                METADATA_NAMESPACE,
                Struct.newBuilder()
                    .putFields("instance", Value.newBuilder().setStringValue(instance.id()).build())
                    .build());
    String version = instance.metadata().get(TrafficPolicy.VERSION_KEY);
    if (version != null) {
      // Where Envoy's subset load balancer looks (a version split's subsets).
      metadata.putFilterMetadata(
          XdsNames.LB_METADATA_NAMESPACE,
          Struct.newBuilder()
              .putFields(
                  TrafficPolicy.VERSION_KEY, Value.newBuilder().setStringValue(version).build())
              .build());
    }
    if (instance.hasSidecar()) {
      // Where the cluster's transport socket matches look: mutual TLS to the sidecar.
      metadata.putFilterMetadata(
          "envoy.transport_socket_match",
          Struct.newBuilder()
              .putFields(
                  XdsNames.MESH_TLS_MATCH_KEY,
                  Value.newBuilder().setStringValue(XdsNames.MESH_TLS_MATCH_VALUE).build())
              .build());
    }
    return LbEndpoint.newBuilder()
        .setEndpoint(
            Endpoint.newBuilder()
                .setAddress(EnvoyProtos.socketAddress(instance.address(), instance.port())))
        .setHealthStatus(serving ? HealthStatus.UNKNOWN : HealthStatus.UNHEALTHY)
        .setLoadBalancingWeight(UInt32Value.of(instance.weight()))
        .setMetadata(metadata)
        .build();
  }
}
