package io.signalbox.xds;

import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.signalbox.translate.XdsResources;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Orders a change so that nothing a route points at is ever missing in Envoy: clusters, endpoints
 * and secrets that the next configuration adds are sent (and applied) before the routes and
 * listeners that use them, and the ones it drops are removed only after the routes and listeners
 * that used them are gone.
 *
 * <p>java-control-plane answers a snapshot's types in the order CDS, EDS, LDS, RDS, but an Envoy
 * asks for a new cluster's endpoints only once it has the cluster, so a route sent in the same
 * round reaches it while the cluster is still warming and answers 503. Staging closes that window:
 * first the union of old and new clusters (old routes), then the new routes (union of clusters
 * still), then the new snapshot.
 */
final class MakeBeforeBreak {

  /**
   * One step of a staged change, and what the group's Envoys must have applied before the next
   * step.
   */
  record Stage(Phase phase, XdsResources resources, List<Wait> waitFor) {}

  /**
   * Which step a stage is, so that groups whose changes differ still step together: every group
   * that adds something does so in {@link #ADD}, before any group switches its routes.
   */
  enum Phase {
    /** The union of old and new clusters, endpoints and secrets; the old listeners and routes. */
    ADD,
    /** The new listeners and routes; still the union (only when something is removed). */
    SWITCH,
    /** The new configuration itself. */
    FINAL
  }

  /** Envoys must have applied {@code type} with at least the {@code required} resources. */
  record Wait(ResourceType type, Set<String> required) {}

  private MakeBeforeBreak() {}

  /**
   * The steps from {@code previous} to {@code next}, the last being {@code next} itself (with
   * nothing to wait for). A change that adds and removes nothing that routes depend on is a single
   * step.
   */
  static List<Stage> stages(XdsResources previous, XdsResources next) {
    boolean usersChange =
        !previous.listeners().equals(next.listeners()) || !previous.routes().equals(next.routes());
    List<Stage> stages = new ArrayList<>();
    if (!usersChange) {
      // The common change (instances come and go): no set difference is needed.
      stages.add(new Stage(Phase.FINAL, next, List.of()));
      return stages;
    }
    Set<String> addedClusters = added(previous.clusters(), next.clusters(), Cluster::getName);
    Set<String> addedEndpoints =
        added(previous.endpoints(), next.endpoints(), ClusterLoadAssignment::getClusterName);
    Set<String> addedSecrets = added(previous.secrets(), next.secrets(), Secret::getName);
    boolean removesSomething =
        !added(next.clusters(), previous.clusters(), Cluster::getName).isEmpty()
            || !added(next.secrets(), previous.secrets(), Secret::getName).isEmpty();
    List<Cluster> clusters = union(previous.clusters(), next.clusters(), Cluster::getName);
    List<ClusterLoadAssignment> endpoints =
        union(previous.endpoints(), next.endpoints(), ClusterLoadAssignment::getClusterName);
    List<Secret> secrets = union(previous.secrets(), next.secrets(), Secret::getName);
    if (!addedClusters.isEmpty() || !addedSecrets.isEmpty()) {
      stages.add(
          new Stage(
              Phase.ADD,
              new XdsResources(
                  previous.listeners(),
                  previous.routes(),
                  clusters,
                  endpoints,
                  secrets,
                  next.localZoneClusters()),
              List.of(
                  new Wait(ResourceType.CLUSTER, Set.of()),
                  new Wait(ResourceType.ENDPOINT, addedEndpoints))));
    }
    if (removesSomething) {
      stages.add(
          new Stage(
              Phase.SWITCH,
              new XdsResources(
                  next.listeners(),
                  next.routes(),
                  clusters,
                  endpoints,
                  secrets,
                  next.localZoneClusters()),
              List.of(
                  new Wait(ResourceType.LISTENER, Set.of()),
                  new Wait(ResourceType.ROUTE, Set.of()))));
    }
    stages.add(new Stage(Phase.FINAL, next, List.of()));
    return stages;
  }

  private static <T extends Message> Set<String> added(
      List<T> before, List<T> after, Function<T, String> name) {
    Set<String> names = new TreeSet<>();
    after.forEach(resource -> names.add(name.apply(resource)));
    before.forEach(resource -> names.remove(name.apply(resource)));
    return names;
  }

  /** The new version of every resource, plus the old ones the new configuration no longer has. */
  private static <T extends Message> List<T> union(
      List<T> before, List<T> after, Function<T, String> name) {
    Map<String, T> byName = new LinkedHashMap<>();
    before.forEach(resource -> byName.put(name.apply(resource), resource));
    after.forEach(resource -> byName.put(name.apply(resource), resource));
    return List.copyOf(byName.values());
  }
}
