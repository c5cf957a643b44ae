package io.signalbox.translate;

import com.google.common.collect.MapMaker;
import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import java.util.Map;
import java.util.Optional;

/**
 * What sidecars are sent of the fleet's clusters: the same objects (and versions) as the edge,
 * except that a sidecar's copy has
 *
 * <ul>
 *   <li>no active health checks: every sidecar that may call a service would probe each of its
 *       instances itself, so one registration asking for a 100 ms check would have hundreds of
 *       sidecars probe every instance at 10 Hz (Istio's sidecars do no active checks either). A
 *       sidecar still leaves out an instance the edge finds failing only by its own outlier
 *       detection, or when the instance reports NOT_SERVING or its lease ends;
 *   <li>no upstream client certificate of the operator's ({@code upstreams.clientCertificates}):
 *       those are the edge's credentials, which a back end may trust to have enforced the edge's
 *       policies, and a sidecar runs on a workload's host; a sidecar connects to such a service
 *       over the same verified TLS, without presenting one. The sidecars are sent no such key.
 * </ul>
 *
 * <p>A copy is made once per cluster object of the fleet, and kept while the fleet's object is: so
 * an unchanged cluster keeps its copy, and its version, from one publication to the next.
 */
final class SidecarClusters {

  /**
   * By the fleet's cluster object (compared by identity, held weakly): what sidecars are sent,
   * empty when that is the cluster itself (a value must not hold its key, or the entry would never
   * go).
   */
  private final Map<Cluster, Optional<Cluster>> views = new MapMaker().weakKeys().makeMap();

  /** What sidecars are sent of the fleet's {@code cluster}. */
  Cluster of(Cluster cluster) {
    if (cluster.getHealthChecksCount() == 0 && !cluster.hasTransportSocket()) {
      return cluster;
    }
    return views
        .computeIfAbsent(
            cluster,
            fleet -> {
              Cluster made = made(fleet);
              return made == fleet ? Optional.empty() : Optional.of(made);
            })
        .orElse(cluster);
  }

  private static Cluster made(Cluster cluster) {
    Cluster.Builder copy = cluster.toBuilder().clearHealthChecks();
    if (cluster.hasTransportSocket()
        && cluster.getTransportSocket().getTypedConfig().is(UpstreamTlsContext.class)) {
      UpstreamTlsContext tls = unpack(cluster.getTransportSocket().getTypedConfig());
      if (tls.getCommonTlsContext().getTlsCertificateSdsSecretConfigsCount() > 0) {
        UpstreamTlsContext withoutClientCertificate =
            tls.toBuilder()
                .setCommonTlsContext(
                    tls.getCommonTlsContext().toBuilder().clearTlsCertificateSdsSecretConfigs())
                .build();
        copy.setTransportSocket(
            cluster.getTransportSocket().toBuilder()
                .setTypedConfig(Any.pack(withoutClientCertificate)));
      }
    }
    Cluster made = copy.build();
    return made.equals(cluster) ? cluster : made;
  }

  private static UpstreamTlsContext unpack(Any typedConfig) {
    try {
      return typedConfig.unpack(UpstreamTlsContext.class);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("an upstream TLS context of our own making", e);
    }
  }
}
