package io.signalbox.translate;

import com.google.common.net.InetAddresses;
import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBACPerRoute;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.signalbox.config.GatewaySettings;
import io.signalbox.model.Instance;
import io.signalbox.model.ServiceState;
import io.signalbox.security.AccessPolicy;
import java.net.Inet6Address;
import java.util.ArrayList;
import java.util.List;

/**
 * A sidecar's inbound listeners: one per port of its service's instances, accepting only mutual TLS
 * from workload certificates of the mesh, letting only the service's allowed callers through (by a
 * policy that travels with the inbound routes), and forwarding to the application beside it with
 * the caller's identity in {@code x-forwarded-client-cert}.
 */
final class InboundListeners {

  private InboundListeners() {}

  static Listener listener(
      Instance instance, ServiceState service, GatewaySettings settings, boolean enforcesPolicies) {
    AccessPolicy access = settings.access();
    String trustDomain = access.trustDomain();
    String name = XdsNames.sidecarInboundListener(instance.port());
    HttpConnectionManager.Builder inbound = SidecarTranslator.connectionManager(name);
    if (enforcesPolicies) {
      // The service's policies, enforced here for every caller (PolicyPlacement), before the
      // router.
      List<HttpFilter> policyFilters = InboundRoutes.httpFilters(settings);
      for (int i = policyFilters.size() - 1; i >= 0; i--) {
        inbound.addHttpFilters(0, policyFilters.get(i));
      }
    }
    // First: a caller whose certificate names no allowed identity gets 403. The filter is always
    // there and its policy travels with the inbound routes (allowedCallersOnly), so a change to
    // allowed_callers holds for connections already open, which a changed listener would leave on
    // the old filter chain until they drain.
    inbound.addHttpFilters(
        0,
        HttpFilter.newBuilder()
            .setName(XdsNames.ALLOWED_CALLERS_FILTER)
            .setTypedConfig(Any.pack(RBAC.getDefaultInstance())));
    HttpConnectionManager connectionManager =
        inbound
            // The application learns who called from x-forwarded-client-cert (the caller's SPIFFE
            // ID), set here from the verified certificate; a header the caller sent is dropped.
            .setForwardClientCertDetails(
                HttpConnectionManager.ForwardClientCertDetails.SANITIZE_SET)
            .setSetCurrentClientCertDetails(
                HttpConnectionManager.SetCurrentClientCertDetails.newBuilder().setUri(true))
            // "/admin%2Fx" must not slip past a route meant for "/admin/": decoded before routing,
            // as the application reads it (no redirect: the caller is a program).
            .setPathWithEscapedSlashesAction(
                HttpConnectionManager.PathWithEscapedSlashesAction.UNESCAPE_AND_FORWARD)
            .setRds(
                Rds.newBuilder()
                    .setConfigSource(XdsNames.adsConfigSource())
                    .setRouteConfigName(name))
            .build();
    return Listener.newBuilder()
        .setName(name)
        .setAddress(everyAddress(service, instance.port()))
        .addFilterChains(
            FilterChain.newBuilder()
                .addFilters(SidecarTranslator.filter(connectionManager))
                .setTransportSocket(inboundTls(trustDomain)))
        .build();
  }

  /**
   * Every address of the sidecars' hosts, on {@code port}: the sidecars of a service share one
   * snapshot, and each runs on its own instance's host, so an inbound listener bound to one
   * instance's address could be bound by no other sidecar (Envoy rejects a listener it cannot
   * bind). Mutual TLS, not the address, keeps other callers out. {@code 0.0.0.0} while every
   * instance on the port has an IPv4 address; once one has an IPv6 address, {@code ::} accepting
   * IPv4 too ({@code ipv4_compat}), so that one snapshot serves the IPv6 instance's callers and the
   * IPv4 ones' (an IPv4 wildcard would leave the IPv6 instance's address unserved, and an IPv6-only
   * one the IPv4 instances'). A host with IPv6 disabled cannot bind it: such a service's instances
   * must then all register IPv4 addresses.
   */
  private static Address everyAddress(ServiceState service, int port) {
    boolean anyIpv6 =
        service.instances().stream()
            .filter(instance -> instance.hasSidecar() && instance.port() == port)
            .anyMatch(
                instance -> InetAddresses.forString(instance.address()) instanceof Inet6Address);
    if (!anyIpv6) {
      return EnvoyProtos.socketAddress("0.0.0.0", port);
    }
    return EnvoyProtos.dualStackWildcard(port);
  }

  /**
   * Mutual TLS on the inbound listener: the sidecar's workload certificate, and a client
   * certificate required and verified against the mesh CA, carrying an identity of the trust
   * domain. A client without one does not get past the handshake.
   */
  private static TransportSocket inboundTls(String trustDomain) {
    DownstreamTlsContext context =
        DownstreamTlsContext.newBuilder()
            .setRequireClientCertificate(BoolValue.of(true))
            .setCommonTlsContext(
                CommonTlsContext.newBuilder()
                    .addTlsCertificateSdsSecretConfigs(
                        UpstreamTls.meshSecret(XdsNames.MESH_IDENTITY_SECRET))
                    .setCombinedValidationContext(
                        CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
                            .setDefaultValidationContext(
                                CertificateValidationContext.newBuilder()
                                    .addMatchTypedSubjectAltNames(
                                        SubjectAltNameMatcher.newBuilder()
                                            .setSanType(SubjectAltNameMatcher.SanType.URI)
                                            .setMatcher(
                                                StringMatcher.newBuilder()
                                                    .setPrefix("spiffe://" + trustDomain + "/"))))
                            .setValidationContextSdsSecretConfig(
                                UpstreamTls.meshSecret(XdsNames.MESH_TRUST_SECRET)))
                    .addAlpnProtocols("h2")
                    .addAlpnProtocols("http/1.1"))
            .build();
    return TransportSocket.newBuilder()
        .setName(XdsNames.TLS_TRANSPORT_SOCKET)
        .setTypedConfig(Any.pack(context))
        .build();
  }

  /**
   * The inbound virtual host, letting through only the callers the operator and the service allow
   * ({@link AccessPolicy#allowedCallers}: the policy of the always-present {@link
   * XdsNames#ALLOWED_CALLERS_FILTER}); as it is when neither names any, and every workload of the
   * mesh may call. When the two allow nobody in common, nobody gets through.
   */
  static VirtualHost allowedCallersOnly(
      VirtualHost inbound, ServiceState service, AccessPolicy access) {
    java.util.Optional<java.util.SortedSet<String>> allowed =
        access.allowedCallers(service.name(), service.mesh().allowedCallers());
    if (allowed.isEmpty()) {
      return inbound;
    }
    return inbound.toBuilder()
        .putTypedPerFilterConfig(
            XdsNames.ALLOWED_CALLERS_FILTER,
            Any.pack(RBACPerRoute.newBuilder().setRbac(allowedCallers(allowed.get())).build()))
        .build();
  }

  /** RBAC on the caller's verified identity; none lets nobody through. */
  private static RBAC allowedCallers(java.util.SortedSet<String> identities) {
    List<Principal> anyOf = new ArrayList<>();
    for (String identity : identities) {
      anyOf.add(
          Principal.newBuilder()
              .setAuthenticated(
                  Principal.Authenticated.newBuilder()
                      .setPrincipalName(StringMatcher.newBuilder().setExact(identity)))
              .build());
    }
    return EnvoyProtos.allowOnly(SidecarTranslator.ALLOWED_CALLERS_POLICY, anyOf);
  }
}
