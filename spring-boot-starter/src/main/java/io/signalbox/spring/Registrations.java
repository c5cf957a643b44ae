package io.signalbox.spring;

import io.signalbox.client.RouteSpec;
import io.signalbox.client.ServiceRegistration;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.Route;
import java.util.List;
import java.util.stream.Collectors;

/** The SDK's registration of this instance, from the properties and what startup found out. */
final class Registrations {

  private Registrations() {}

  static ServiceRegistration of(
      SignalboxProperties properties,
      String service,
      String host,
      int port,
      List<RouteSpec> routes) {
    // Behind a sidecar, Envoy sends requests to the sidecar, which forwards them to this port.
    Integer sidecarPort = properties.mesh().sidecarPort();
    int advertisedPort = sidecarPort != null ? sidecarPort : port;
    String instanceId =
        properties.instanceId() != null && !properties.instanceId().isBlank()
            ? properties.instanceId()
            : defaultInstanceId(service, host, advertisedPort);
    ServiceRegistration.Builder registration =
        ServiceRegistration.builder(service)
            .instance(instanceId, host, advertisedPort)
            .metadata(properties.metadata());
    if (sidecarPort != null) {
      registration.applicationPort(port);
    }
    properties.mesh().allowedCallers().forEach(registration::allowedCaller);
    properties.mesh().calls().forEach(registration::calls);
    routes.forEach(registration::route);
    if (properties.leaseTtl() != null) {
      registration.leaseTtl(properties.leaseTtl());
    }
    if (properties.zone() != null) {
      registration.zone(properties.zone());
    }
    if (properties.weight() != null) {
      registration.weight(properties.weight());
    }
    if (properties.auth() != null) {
      registration.auth(properties.auth().toSpec());
    }
    if (properties.rateLimit() != null) {
      registration.rateLimit(properties.rateLimit().toSpec());
    }
    return registration.build();
  }

  /**
   * {@code service-host-port}: unique while the instance listens (no two instances share an
   * address), and the same again when it restarts there, so a restarted instance takes over its own
   * entry instead of adding one. Characters an instance id may not hold become '-'.
   */
  static String defaultInstanceId(String service, String host, int port) {
    String id = (service + "-" + host + "-" + port).replaceAll("[^A-Za-z0-9._:-]", "-");
    return id.length() <= 128 ? id : id.substring(id.length() - 128);
  }

  /** "prefix /orders, exact /health", for log lines. */
  static String describe(List<Route> routes) {
    if (routes.isEmpty()) {
      return "no routes";
    }
    return routes.stream()
        .map(Route::getPath)
        .map(Registrations::describe)
        .collect(Collectors.joining(", "));
  }

  private static String describe(PathMatch path) {
    return switch (path.getKindCase()) {
      case PREFIX -> "prefix " + path.getPrefix();
      case EXACT -> "exact " + path.getExact();
      case REGEX -> "regex " + path.getRegex();
      default -> path.getKindCase().name().toLowerCase(java.util.Locale.ROOT);
    };
  }
}
