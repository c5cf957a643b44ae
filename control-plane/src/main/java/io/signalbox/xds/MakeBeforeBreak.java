package io.signalbox.xds;

import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.signalbox.translate.XdsResources;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
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

  /**
   * Envoys must have {@code type} with at least the {@code required} resources: applied (answered),
   * or, for {@link Until#DELIVERED}, written to their streams in answer to asking for them.
   */
  record Wait(ResourceType type, Set<String> required, Until until) {

    Wait(ResourceType type, Set<String> required) {
      this(type, required, Until.APPLIED);
    }
  }

  /** What a stage's Envoys must have done with it before the next stage is sent. */
  enum Until {
    /** Acknowledged it. */
    APPLIED,
    /**
     * Been sent it on their ADS stream after they asked for it: Envoy applies the responses of one
     * stream in order, so whatever is sent later reaches it after these. For endpoints of clusters
     * that are warm as soon as their endpoints arrive ({@link #warmsOnItsEndpoints}).
     */
    DELIVERED
  }

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
    Merged<Cluster> clusters = Merged.of(previous.clusters(), next.clusters(), Cluster::getName);
    Merged<ClusterLoadAssignment> endpoints =
        Merged.of(previous.endpoints(), next.endpoints(), ClusterLoadAssignment::getClusterName);
    Merged<Secret> secrets = Merged.of(previous.secrets(), next.secrets(), Secret::getName);
    boolean removesSomething = clusters.removes() || secrets.removes();
    if (!clusters.added().isEmpty() || !secrets.added().isEmpty()) {
      stages.add(
          new Stage(
              Phase.ADD,
              new XdsResources(
                  previous.listeners(),
                  previous.routes(),
                  clusters.union(),
                  endpoints.union(),
                  secrets.union(),
                  next.localZoneClusters()),
              addedWaits(clusters, endpoints, secrets)));
    }
    if (removesSomething) {
      stages.add(
          new Stage(
              Phase.SWITCH,
              new XdsResources(
                  next.listeners(),
                  next.routes(),
                  clusters.union(),
                  endpoints.union(),
                  secrets.union(),
                  next.localZoneClusters()),
              List.of(
                  new Wait(ResourceType.LISTENER, Set.of()),
                  new Wait(ResourceType.ROUTE, Set.of()))));
    }
    stages.add(new Stage(Phase.FINAL, next, List.of()));
    return stages;
  }

  /**
   * What the Envoys must have done with the added clusters before routes may use them. A cluster
   * that Envoy makes warm as soon as its endpoints arrive is ready for routes sent after them on
   * the same stream: Envoy applies one ADS stream's responses in order, and hands its workers the
   * warm cluster before the routes that follow (Istio relies on the same order). That saves waiting
   * for the answers, two to four milliseconds a registration. Any other addition waits for the
   * answers: a DNS cluster warms when its names resolve, one with active health checks after their
   * first round, one with a transport socket may wait for its secrets, and added secrets have no
   * endpoints to follow.
   */
  private static List<Wait> addedWaits(
      Merged<Cluster> clusters, Merged<ClusterLoadAssignment> endpoints, Merged<Secret> secrets) {
    boolean warmOnEndpoints =
        secrets.added().isEmpty()
            && clusters.additions().stream()
                .allMatch(
                    cluster ->
                        warmsOnItsEndpoints(cluster)
                            && endpoints.added().contains(cluster.getName()));
    if (warmOnEndpoints) {
      return List.of(new Wait(ResourceType.ENDPOINT, endpoints.added(), Until.DELIVERED));
    }
    return List.of(
        new Wait(ResourceType.CLUSTER, Set.of()),
        new Wait(ResourceType.ENDPOINT, endpoints.added()));
  }

  /**
   * An EDS cluster named as its assignment, with no active health checks and no transport socket:
   * Envoy makes it warm when its first assignment is applied.
   */
  static boolean warmsOnItsEndpoints(Cluster cluster) {
    return !cluster.hasClusterType()
        && cluster.getType() == Cluster.DiscoveryType.EDS
        && (cluster.getEdsClusterConfig().getServiceName().isEmpty()
            || cluster.getEdsClusterConfig().getServiceName().equals(cluster.getName()))
        && cluster.getHealthChecksCount() == 0
        && !cluster.hasTransportSocket()
        && cluster.getTransportSocketMatchesCount() == 0;
  }

  /**
   * One type's resources before and after a change, compared in one pass over both lists, which
   * {@link XdsResources} keeps in name order: most resources are the very same objects in both, so
   * most steps compare references, not names. (Sets and maps of every name cost 14-20 ms per route
   * change at 10,000 services, more than translating it.)
   *
   * @param added the names only {@code after} has
   * @param additions the resources only {@code after} has
   * @param removes whether some name only {@code before} has
   * @param union {@code after}'s resources and those only {@code before} has, in name order; {@code
   *     after} itself when nothing is removed
   */
  record Merged<T>(Set<String> added, List<T> additions, boolean removes, List<T> union) {

    static <T> Merged<T> of(List<T> before, List<T> after, Function<T, String> name) {
      Set<String> added = new HashSet<>();
      List<T> additions = new ArrayList<>();
      List<T> union = new ArrayList<>(Math.max(before.size(), after.size()));
      boolean removes = false;
      int b = 0;
      int a = 0;
      while (b < before.size() || a < after.size()) {
        T old = b < before.size() ? before.get(b) : null;
        T now = a < after.size() ? after.get(a) : null;
        int order =
            old == now
                ? 0
                : old == null ? 1 : now == null ? -1 : name.apply(old).compareTo(name.apply(now));
        if (order < 0) {
          // Only before has it: kept in the union until the routes no longer use it.
          union.add(old);
          removes = true;
          b++;
        } else {
          union.add(now);
          if (order > 0) {
            added.add(name.apply(now));
            additions.add(now);
          } else {
            b++;
          }
          a++;
        }
      }
      return new Merged<>(
          Set.copyOf(added), List.copyOf(additions), removes, removes ? union : after);
    }
  }
}
