package io.signalbox.translate;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.signalbox.config.GatewaySettings;
import io.signalbox.model.Instance;
import io.signalbox.model.ServiceState;

/**
 * One EDS cluster per service (with mutual TLS to the instances behind sidecars); its endpoints
 * come from {@link EndpointTranslator} under the same name. It speaks the service's upstream
 * protocol: HTTP/1.1, or HTTP/2 (h2c, or h2 over TLS) for HTTP2 and GRPC, in plaintext or over
 * verified TLS ({@code traffic.tls}).
 */
final class ClusterTranslator {

  Cluster cluster(ServiceState service, GatewaySettings settings) {
    Cluster.Builder cluster = Cluster.newBuilder();
    if (service.protocol().http2()) {
      UpstreamProtocolOptions.http2(cluster);
    }
    TrafficPolicyTranslator.apply(service.traffic(), service.protocol(), cluster);
    service
        .traffic()
        .tls()
        .ifPresent(
            tls ->
                cluster.setTransportSocket(
                    UpstreamTls.serviceTransportSocket(
                        tls,
                        grantedClientCertificate(tls, service, settings),
                        service.protocol().http2())));
    if (service.instances().stream().anyMatch(Instance::hasSidecar)) {
      // Instances behind a sidecar take mutual TLS with workload certificates (their endpoints
      // carry the match); any others keep the cluster's own transport.
      cluster.addTransportSocketMatches(
          Cluster.TransportSocketMatch.newBuilder()
              .setName(XdsNames.MESH_TLS_MATCH_VALUE)
              .setMatch(
                  Struct.newBuilder()
                      .putFields(
                          XdsNames.MESH_TLS_MATCH_KEY,
                          Value.newBuilder().setStringValue(XdsNames.MESH_TLS_MATCH_VALUE).build()))
              .setTransportSocket(
                  UpstreamTls.meshTransportSocket(
                      settings.access().serviceIdentity(service.name()).value(),
                      service.protocol().http2())));
    }
    return cluster
        .setName(XdsNames.serviceCluster(service.name()))
        .setType(Cluster.DiscoveryType.EDS)
        .setEdsClusterConfig(
            Cluster.EdsClusterConfig.newBuilder().setEdsConfig(XdsNames.adsConfigSource()))
        .setConnectTimeout(EnvoyProtos.duration(settings.limits().upstreamConnectTimeout()))
        .build();
  }

  /**
   * The client certificate the service's TLS names, if the operator's settings grant it to the
   * service: a registration is checked when it is made, but the grant may have been narrowed since
   * (a reload), or the registration made before it existed, and its lease lives on. Without it
   * Envoy connects without a client certificate.
   */
  private static java.util.Optional<String> grantedClientCertificate(
      io.signalbox.model.TrafficPolicy.UpstreamTls tls,
      ServiceState service,
      GatewaySettings settings) {
    return tls.clientCertificate()
        .filter(
            name ->
                settings.upstreamClientCertificates().stream()
                    .anyMatch(
                        certificate ->
                            certificate.name().equals(name)
                                && certificate.grantedTo(service.name())));
  }
}
