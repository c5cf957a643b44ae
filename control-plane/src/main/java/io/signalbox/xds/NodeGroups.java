package io.signalbox.xds;

import com.google.protobuf.Value;
import io.envoyproxy.controlplane.cache.NodeGroup;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.signalbox.model.Names;
import java.util.Optional;

/**
 * Envoys are grouped by {@code node.cluster} (the bootstrap's {@code --service-cluster}), their
 * fleet, and by the zone they declare ({@code node.locality.zone}): every Envoy of a group is sent
 * the same snapshot, whatever its node id, so a fleet scales without a snapshot per proxy. The zone
 * is part of the group because Envoys in different zones are sent different endpoint priorities
 * (services that prefer the local zone); a fleet without zones is one group, as before.
 *
 * <p>A sidecar declares its role in {@code node.metadata} ({@code signalbox.role: sidecar}) and its
 * service in {@code signalbox.service} (or, without it, {@code node.cluster}); the sidecars of a
 * service are the fleet {@code sidecar/SERVICE}. The group's name decides what it is sent, and
 * access rules name it (the convention identity {@code spiffe://DOMAIN/envoy/sidecar/SERVICE}).
 */
public final class NodeGroups implements NodeGroup<String> {

  /** The group of an Envoy that names no cluster. */
  public static final String DEFAULT_GROUP = "default";

  /**
   * Separates the fleet from the zone in a group's name ({@code edge@eu-west-1a}); a fleet name
   * holding it is cut at its first occurrence, so no fleet can pose as another's zone.
   */
  static final char ZONE_SEPARATOR = '@';

  /** How the fleet of a service's sidecars begins. */
  public static final String SIDECAR_PREFIX = "sidecar/";

  /** The node metadata key naming an Envoy's role, and the value that makes it a sidecar. */
  public static final String ROLE_KEY = "signalbox.role";

  public static final String SIDECAR_ROLE = "sidecar";

  /** The node metadata key naming a sidecar's service. */
  public static final String SERVICE_KEY = "signalbox.service";

  @Override
  public String hash(Node node) {
    String fleet = fleet(node);
    String zone = node == null ? "" : node.getLocality().getZone();
    return zone.isEmpty() ? fleet : fleet + ZONE_SEPARATOR + zone;
  }

  /**
   * The fleet an Envoy belongs to: its {@code node.cluster} up to any {@link #ZONE_SEPARATOR}, the
   * unit that access rules name (an Envoy allowed the fleet {@code edge} may fetch it in every
   * zone).
   */
  public String fleet(Node node) {
    return fleetOf(node);
  }

  private static String fleetOf(Node node) {
    String cluster = node == null ? "" : node.getCluster();
    if (node != null && SIDECAR_ROLE.equals(metadata(node, ROLE_KEY))) {
      String service = metadata(node, SERVICE_KEY);
      cluster = SIDECAR_PREFIX + (service.isEmpty() ? cluster : service);
    }
    int separator = cluster.indexOf(ZONE_SEPARATOR);
    if (separator >= 0) {
      cluster = cluster.substring(0, separator);
    }
    return cluster.isEmpty() ? DEFAULT_GROUP : cluster;
  }

  /** The fleet of a group: its name without the zone. */
  public static String fleetOf(String group) {
    int separator = group.indexOf(ZONE_SEPARATOR);
    return separator < 0 ? group : group.substring(0, separator);
  }

  /** The service whose sidecars a group is, empty for any other group. */
  public static Optional<String> sidecarService(String group) {
    if (!group.startsWith(SIDECAR_PREFIX)) {
      return Optional.empty();
    }
    int separator = group.indexOf(ZONE_SEPARATOR);
    String service =
        group.substring(SIDECAR_PREFIX.length(), separator < 0 ? group.length() : separator);
    return service.isEmpty() ? Optional.empty() : Optional.of(service);
  }

  /**
   * Why {@code node} cannot be grouped, naming the field; empty when it can. Every group an Envoy
   * connects to is kept and sent a snapshot on every publication, and a sidecar's service and an
   * edge fleet name SPIFFE identities, so what names one is bounded before any group is made of it:
   * the zone as a registration's zone, a sidecar's service (its {@code signalbox.service}, else its
   * {@code node.cluster}) as a service name, an edge fleet as access rules name fleets ({@link
   * Names#FLEET}).
   */
  public static Optional<String> invalid(Node node) {
    if (!Names.ZONE.matcher(node.getLocality().getZone()).matches()) {
      return Optional.of(
          "node.locality.zone must be at most 63 characters of letters, digits, '.', '_' and '-'");
    }
    String fleet = fleetOf(node);
    if (SIDECAR_ROLE.equals(metadata(node, ROLE_KEY))) {
      if (sidecarService(fleet).filter(Names.SERVICE.asMatchPredicate()).isEmpty()) {
        String field =
            metadata(node, SERVICE_KEY).isEmpty()
                ? "node.cluster (a sidecar that names no node.metadata[\"" + SERVICE_KEY + "\"])"
                : "node.metadata[\"" + SERVICE_KEY + "\"]";
        return Optional.of(
            field + " must be a service name: lowercase letters, digits and '-', at most 63");
      }
    } else if (!Names.FLEET.matcher(fleet).matches()) {
      return Optional.of(
          "node.cluster must be at most 128 characters of letters, digits, '.', '_', ':' and '-'"
              + " (before any '@')");
    }
    return Optional.empty();
  }

  private static String metadata(Node node, String key) {
    Value value = node.getMetadata().getFieldsMap().get(key);
    return value == null ? "" : value.getStringValue();
  }

  /**
   * The most zones whose Envoys are kept connected at once, over all fleets ({@link KeptZones}):
   * far beyond any provider's zones.
   */
  public static final int MAX_ZONES = 256;

  /**
   * The most zones one fleet's Envoys are kept connected in at once ({@link KeptZones}): more than
   * a fleet spread over every zone of a large cloud region several times over, and a bound on what
   * a peer allowed a fleet can make by naming zones, a quarter of {@link #MAX_ZONES}, so that it
   * cannot take the zones of every other fleet.
   */
  public static final int MAX_ZONES_PER_FLEET = 64;

  /** The zone a group's Envoys declared, empty for a group without one. */
  public static Optional<String> zone(String group) {
    int separator = group.indexOf(ZONE_SEPARATOR);
    return separator < 0 ? Optional.empty() : Optional.of(group.substring(separator + 1));
  }
}
