package io.signalbox.translate;

import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.signalbox.config.GatewaySettings;
import io.signalbox.model.ServiceState;

/**
 * One EDS cluster per service; its endpoints come from {@link EndpointTranslator} under the same
 * name.
 */
final class ClusterTranslator {

  Cluster cluster(ServiceState service, GatewaySettings settings) {
    return Cluster.newBuilder()
        .setName(XdsNames.serviceCluster(service.name()))
        .setType(Cluster.DiscoveryType.EDS)
        .setEdsClusterConfig(
            Cluster.EdsClusterConfig.newBuilder().setEdsConfig(XdsNames.adsConfigSource()))
        .setConnectTimeout(
            Durations.fromNanos(settings.limits().upstreamConnectTimeout().toNanos()))
        .setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN)
        .build();
  }
}
