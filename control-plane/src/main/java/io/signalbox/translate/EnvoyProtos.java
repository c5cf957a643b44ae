package io.signalbox.translate;

import com.google.common.net.InetAddresses;
import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import java.time.Duration;

/**
 * Shared builders for the small Envoy messages every translator needs (as Contour's {@code
 * internal/envoy/v3}): durations, socket addresses, clusters of one fixed endpoint, and RBAC filter
 * configurations of one allow policy.
 */
final class EnvoyProtos {

  private EnvoyProtos() {}

  static com.google.protobuf.Duration duration(Duration duration) {
    return Durations.fromNanos(duration.toNanos());
  }

  static Address socketAddress(String host, int port) {
    return Address.newBuilder()
        .setSocketAddress(SocketAddress.newBuilder().setAddress(host).setPortValue(port))
        .build();
  }

  /** Every IPv6 address of the host on {@code port}, and every IPv4 one as IPv4-mapped. */
  static Address dualStackWildcard(int port) {
    return Address.newBuilder()
        .setSocketAddress(
            SocketAddress.newBuilder().setAddress("::").setPortValue(port).setIpv4Compat(true))
        .build();
  }

  /**
   * A cluster of one endpoint the settings name (a JWKS server, an external rate-limit service):
   * STATIC for an IP literal, else resolved by DNS, IPv4 first since many hosts publish AAAA
   * records their network cannot reach.
   */
  static Cluster.Builder singleEndpointCluster(
      String name, String host, int port, Duration connectTimeout) {
    Cluster.Builder cluster =
        Cluster.newBuilder()
            .setName(name)
            .setConnectTimeout(duration(connectTimeout))
            .setLoadAssignment(
                ClusterLoadAssignment.newBuilder()
                    .setClusterName(name)
                    .addEndpoints(
                        LocalityLbEndpoints.newBuilder()
                            .addLbEndpoints(
                                LbEndpoint.newBuilder()
                                    .setEndpoint(
                                        Endpoint.newBuilder()
                                            .setAddress(socketAddress(host, port))))));
    if (InetAddresses.isInetAddress(host)) {
      return cluster.setType(Cluster.DiscoveryType.STATIC);
    }
    return cluster
        .setType(Cluster.DiscoveryType.STRICT_DNS)
        .setDnsLookupFamily(Cluster.DnsLookupFamily.V4_PREFERRED);
  }

  /**
   * An RBAC filter configuration that lets through only requests whose peer or token matches one of
   * {@code principals}, named {@code policyName} in Envoy's rbac stats and logs. With no principals
   * it lets nobody through: a policy must name one, so the rule then has no policy, and an ALLOW
   * rule without policies matches no request.
   */
  static RBAC allowOnly(String policyName, java.util.List<Principal> principals) {
    io.envoyproxy.envoy.config.rbac.v3.RBAC.Builder rules =
        io.envoyproxy
            .envoy
            .config
            .rbac
            .v3
            .RBAC
            .newBuilder()
            .setAction(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.ALLOW);
    if (!principals.isEmpty()) {
      rules.putPolicies(
          policyName,
          Policy.newBuilder()
              .addPermissions(Permission.newBuilder().setAny(true))
              .addAllPrincipals(principals)
              .build());
    }
    return RBAC.newBuilder().setRules(rules).build();
  }
}
