package io.signalbox.translate;

import com.google.common.collect.Lists;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.signalbox.config.GatewaySettings;
import io.signalbox.model.RegistryState;
import io.signalbox.model.ServiceState;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The edge gateway's resources: the listeners of the settings, their route configurations, a
 * cluster with endpoints per service, the clusters the policy filters need, and the TLS
 * certificates as secrets.
 *
 * <p>Every service's cluster and load assignment are present whenever any route can point at them
 * (a snapshot must be complete, and a route to a missing cluster would stall ADS), and the route
 * configuration always exists even with no routes, because the listeners name it.
 *
 * <p>Translation is by difference: what depends only on the settings is made once per settings; a
 * service's cluster once per settings, its load assignment once per set of instances; the route
 * configurations only when some service's routes changed. Everything else is the same message
 * object as in the previous translation, so a change to one service costs that service's
 * translation (the services that differ from the state translated last are found from the
 * registry's change log) plus copying the lists it changed, and unchanged resources keep their
 * objects (whose versions and serialized forms are then looked up by identity downstream), as do
 * the lists of clusters and of load assignments while none in them changed. The result equals a
 * translation from scratch; that is what {@code IncrementalTranslationTest} checks.
 */
public final class GatewayTranslator implements Translator {

  private final List<HttpFilterTranslator> filters = HttpFilterChain.IN_ORDER;

  private final ListenerTranslator listeners = new ListenerTranslator(filters);
  private final RouteTranslator routes = new RouteTranslator(filters);
  private final ClusterTranslator clusters = new ClusterTranslator();
  private final EndpointTranslator endpoints = new EndpointTranslator();
  private final SecretTranslator secrets = new SecretTranslator();

  /** What depends on the settings alone, made for {@code settings}. */
  private record SettingsPart(
      GatewaySettings settings,
      List<Listener> listeners,
      List<Cluster> filterClusters,
      List<Secret> secrets) {}

  /** One service's translation, and the service state it was made from. */
  private record ServicePart(
      ServiceState service, Cluster cluster, ClusterLoadAssignment assignment) {}

  // The previous translation; guarded by this (the pipeline thread and a quarantine's trials both
  // translate, one at a time).
  private SettingsPart settingsPart;
  private final Map<String, ServicePart> serviceParts = new HashMap<>();

  /** Made from the previous translation's services' routes (every translation keeps them so). */
  private List<RouteConfiguration> routeConfigurations;

  /** The policy handover the route configurations were made with. */
  private PolicyHandover routesHandover = PolicyHandover.NONE;

  /**
   * The previous translation's clusters and load assignments, handed out again while none of them
   * changed: downstream, the very same list is known unchanged without a walk over it (every
   * sidecar group that takes the fleet's clusters walked all of them on each change otherwise).
   */
  private List<Cluster> clusterList;

  private List<ClusterLoadAssignment> assignmentList;

  /**
   * The state the previous translation was made from, and the clusters of its services that prefer
   * the local zone: the next translation walks only the services that differ from it.
   */
  private RegistryState translatedState;

  private Set<String> localZoneClusters = Set.of();

  @Override
  public synchronized XdsResources translate(
      RegistryState state, GatewaySettings settings, PolicyHandover handover) {
    try {
      return translateByDifference(state, settings, handover);
    } catch (RuntimeException | Error e) {
      // What the failed translation remembered (an Error's too, say out of memory) is half of it:
      // the parts of the services it got to, but the lists and routes of the translation before,
      // which the next one would take as current. The next translation starts from scratch instead
      // (as for new settings), the route translator's placements included.
      settingsPart = null;
      throw e;
    }
  }

  private XdsResources translateByDifference(
      RegistryState state, GatewaySettings settings, PolicyHandover handover) {
    if (settingsPart == null || !settingsPart.settings().equals(settings)) {
      settingsPart =
          new SettingsPart(
              settings,
              listeners.listeners(settings),
              filters.stream().flatMap(filter -> filter.clusters(settings).stream()).toList(),
              secrets.secrets(settings));
      // Clusters and route configurations depend on the settings too: the next translation starts
      // from an empty registry, so every service differs from it.
      serviceParts.clear();
      routes.forget();
      routeConfigurations = null;
      clusterList =
          XdsResources.nameOrdered(
              settingsPart.filterClusters().stream()
                  .sorted(Comparator.comparing(Cluster::getName))
                  .toList(),
              Cluster::getName);
      assignmentList = List.of();
      localZoneClusters = Set.of();
      translatedState = RegistryState.EMPTY;
    }
    translateServicesDiffering(state, settings, handover);
    translatedState = state;
    return XdsResources.inNameOrder(
        settingsPart.listeners(),
        routeConfigurations,
        clusterList,
        assignmentList,
        settingsPart.secrets(),
        localZoneClusters);
  }

  /**
   * Only the services whose state differs from the state translated last (the empty registry after
   * new settings) are translated and put in place in the name-ordered lists (found from the
   * registry's change log at a cost that follows the change, {@link
   * RegistryState#servicesDifferingFrom}); the lists are copied only when one of theirs changed.
   */
  private void translateServicesDiffering(
      RegistryState state, GatewaySettings settings, PolicyHandover handover) {
    List<Cluster> newClusters = null;
    List<ClusterLoadAssignment> newAssignments = null;
    Set<String> newLocalZoneClusters = null;
    boolean routesChanged = routeConfigurations == null || !handover.equals(routesHandover);
    for (String name : state.servicesDifferingFrom(translatedState)) {
      ServiceState service = state.services().get(name);
      ServicePart before = serviceParts.get(name);
      String clusterName = XdsNames.serviceCluster(name);
      ServicePart part = service == null ? null : translated(service, before, settings);
      if (part == null) {
        serviceParts.remove(name);
      } else if (part != before) {
        serviceParts.put(name, part);
      }
      routesChanged |= before == null || part == null || !sameRoutes(before.service(), service);
      Cluster cluster = part == null ? null : part.cluster();
      if (before == null || cluster != before.cluster()) {
        newClusters = newClusters == null ? new ArrayList<>(clusterList) : newClusters;
        putInNameOrder(newClusters, clusterName, cluster, Cluster::getName);
      }
      ClusterLoadAssignment assignment = part == null ? null : part.assignment();
      if (before == null || assignment != before.assignment()) {
        newAssignments = newAssignments == null ? new ArrayList<>(assignmentList) : newAssignments;
        putInNameOrder(
            newAssignments, clusterName, assignment, ClusterLoadAssignment::getClusterName);
      }
      boolean prefersLocalZone = service != null && service.traffic().preferLocalZone();
      if (prefersLocalZone != localZoneClusters.contains(clusterName)) {
        newLocalZoneClusters =
            newLocalZoneClusters == null ? new HashSet<>(localZoneClusters) : newLocalZoneClusters;
        if (prefersLocalZone) {
          newLocalZoneClusters.add(clusterName);
        } else {
          newLocalZoneClusters.remove(clusterName);
        }
      }
    }
    if (newClusters != null) {
      clusterList = XdsResources.nameOrdered(newClusters, Cluster::getName);
    }
    if (newAssignments != null) {
      assignmentList =
          XdsResources.nameOrdered(newAssignments, ClusterLoadAssignment::getClusterName);
    }
    if (newLocalZoneClusters != null) {
      localZoneClusters = Set.copyOf(newLocalZoneClusters);
    }
    if (routesChanged) {
      routeConfigurations = List.copyOf(routes.routeConfigurations(state, settings, handover));
      routesHandover = handover;
    }
  }

  /**
   * Puts {@code resource} where {@code name} belongs in the name-ordered {@code resources},
   * replacing the one of that name; removes that one when {@code resource} is null.
   */
  private static <T> void putInNameOrder(
      List<T> resources, String name, T resource, Function<T, String> nameOf) {
    int at = Collections.binarySearch(Lists.transform(resources, nameOf::apply), name);
    if (at >= 0 && resource == null) {
      resources.remove(at);
    } else if (at >= 0) {
      resources.set(at, resource);
    } else if (resource != null) {
      resources.add(-at - 1, resource);
    }
  }

  private ServicePart translated(
      ServiceState service, ServicePart before, GatewaySettings settings) {
    if (before == null) {
      return new ServicePart(
          service, clusters.cluster(service, settings), endpoints.loadAssignment(service));
    }
    if (before.service() == service) {
      return before;
    }
    // The cluster depends on the name, the protocol, the traffic policy, whether instances have
    // sidecars, and the settings; the assignment on the instances and their serving status.
    Cluster cluster =
        before.service().protocol() == service.protocol()
                && before.service().traffic().equals(service.traffic())
                && hasSidecars(before.service()) == hasSidecars(service)
            ? before.cluster()
            : clusters.cluster(service, settings);
    ClusterLoadAssignment assignment =
        before.service().instances().equals(service.instances())
                && before.service().notServing().equals(service.notServing())
            ? before.assignment()
            : endpoints.loadAssignment(service);
    return new ServicePart(service, cluster, assignment);
  }

  private static boolean hasSidecars(ServiceState service) {
    return service.instances().stream().anyMatch(io.signalbox.model.Instance::hasSidecar);
  }

  /**
   * Whether the service's routes translate the same: same routes going to the same {@link
   * Destination}, and their policies enforced at the same place ({@link PolicyPlacement}).
   */
  private static boolean sameRoutes(ServiceState before, ServiceState now) {
    return before == now
        || (before.routes().equals(now.routes())
            && Destination.of(before).equals(Destination.of(now))
            && PolicyPlacement.everyInstanceHasASidecar(before)
                == PolicyPlacement.everyInstanceHasASidecar(now));
  }
}
