package io.signalbox.translate;

import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;

/** Every name Signalbox gives an Envoy resource or uses for a well-known Envoy extension, in one place. */
public final class XdsNames {

  public static final String HTTP_CONNECTION_MANAGER = "envoy.filters.network.http_connection_manager";
  public static final String ROUTER_FILTER = "envoy.filters.http.router";

  /** Virtual host for routes that registered no host. */
  public static final String ANY_HOST_VIRTUAL_HOST = "any-host";

  /**
   * Service clusters carry a prefix so that no service name can collide with a cluster of the bootstrap (such as
   * {@code signalbox-xds}) or with clusters Signalbox itself adds later.
   */
  private static final String SERVICE_CLUSTER_PREFIX = "svc-";

  private XdsNames() {
  }

  public static String serviceCluster(String service) {
    return SERVICE_CLUSTER_PREFIX + service;
  }

  public static String routeConfiguration(String listenerName) {
    return listenerName + "-routes";
  }

  public static String virtualHost(String host) {
    return host.equals("*") ? ANY_HOST_VIRTUAL_HOST : host;
  }

  /** A route's name: its owner and its match, unique within a virtual host and readable in a config dump. */
  public static String route(String service, String match) {
    return service + ": " + match;
  }

  /** Dynamic resources all arrive over the one ADS stream the bootstrap opens. */
  public static ConfigSource adsConfigSource() {
    return ConfigSource.newBuilder()
        .setAds(AggregatedConfigSource.getDefaultInstance())
        .setResourceApiVersion(ApiVersion.V3)
        .build();
  }
}
