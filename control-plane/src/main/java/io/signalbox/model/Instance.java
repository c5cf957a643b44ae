package io.signalbox.model;

import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * One running copy of a service, as Envoy should reach it.
 *
 * @param host the host as registered (an IP or a DNS name), shown to operators
 * @param address the IP address Envoy connects to: EDS endpoints must be IPs, so a DNS name is
 *     resolved once at registration
 */
public record Instance(
    String id,
    String host,
    String address,
    int port,
    String zone,
    int weight,
    Map<String, String> metadata,
    int applicationPort) {

  public static final int DEFAULT_WEIGHT = 1;

  public Instance {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(address, "address");
    zone = zone == null ? "" : zone;
    weight = weight == 0 ? DEFAULT_WEIGHT : weight;
    // Sorted, so that translation output never depends on map iteration order.
    metadata =
        metadata == null || metadata.isEmpty()
            ? java.util.Collections.emptySortedMap()
            : java.util.Collections.unmodifiableSortedMap(new TreeMap<>(metadata));
  }

  /** An instance without a sidecar. */
  public Instance(
      String id,
      String host,
      String address,
      int port,
      String zone,
      int weight,
      Map<String, String> metadata) {
    this(id, host, address, port, zone, weight, metadata, 0);
  }

  public static Instance of(String id, String address, int port) {
    return new Instance(id, address, address, port, "", DEFAULT_WEIGHT, Map.of());
  }

  /** Whether a sidecar Envoy fronts the instance: {@code port} is its inbound listener. */
  public boolean hasSidecar() {
    return applicationPort != 0;
  }
}
