package io.signalbox.translate;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.signalbox.config.GatewaySettings;
import io.signalbox.config.SidecarSettings;
import io.signalbox.model.Instance;
import io.signalbox.model.RegistryState;
import io.signalbox.model.ServiceState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * What the sidecars of one service are sent (sidecar mode): the fleet's clusters and endpoints,
 * which they share with the edge (same objects, same versions; a cluster's active health checks and
 * the edge's client certificate left out, {@link SidecarClusters}), plus
 *
 * <ul>
 *   <li>an outbound listener ({@link SidecarSettings}, 127.0.0.1:15001 by default) routing by Host
 *       to every registered service: {@code http://users/...} (or {@code users:8080}) reaches the
 *       instances of {@code users}, balanced by its traffic policy;
 *   <li>an inbound listener on each of the service's instance ports whose registration names an
 *       application port, accepting only mutual TLS from workload certificates of the mesh and
 *       forwarding to the application on 127.0.0.1 with the caller's identity in {@code
 *       x-forwarded-client-cert}.
 * </ul>
 *
 * <p>The inbound listener lets only the service's {@code allowed_callers} through (Envoy RBAC on
 * the caller's certificate; 403 for anyone else), or, without them, every workload of the mesh.
 * Once every instance of the service has a sidecar, it also enforces the service's JWT and rate
 * limits on the routes whose path is the application's own ({@link PolicyPlacement}), for callers
 * from the mesh and from the edge alike (the edge then leaves them to it). The certificates are SDS
 * secrets the xds stage adds per group ({@code MeshIdentities}). The outbound routes carry each
 * callee's timeouts, retries and balancing ({@link OutboundRoutes}).
 *
 * <p>A service that names the services it {@code calls} scopes its sidecars to them: only their
 * clusters, endpoints and virtual hosts, so a change to any other service leaves the sidecar's
 * resources (and versions) as they were, and delta xDS sends it nothing.
 */
public final class SidecarTranslator {

  /** The RBAC policy of a sidecar's inbound listener, named in Envoy's rbac stats and logs. */
  static final String ALLOWED_CALLERS_POLICY = "allowed-callers";

  /** How long a sidecar waits for a connection to the application beside it. */
  static final Duration LOCAL_CONNECT_TIMEOUT = Duration.ofSeconds(1);

  /**
   * A callee's outbound virtual host and what it was made from: the service state, and what of the
   * settings it depends on.
   */
  private record CalleeHost(
      ServiceState callee, OutboundRoutes.Options options, VirtualHost virtualHost) {}

  // Each callee's virtual host, made again only when its state is another object (the store keeps
  // an unchanged service's state), and the outbound routes of every sidecar that names no callees:
  // the same for all services, so made once per registry state and shared (one object, one hash).
  // Guarded by this.
  private final Map<String, CalleeHost> calleeHosts = new java.util.HashMap<>();

  private final SidecarClusters sidecarClusters = new SidecarClusters();
  private RegistryState unscopedState;
  private OutboundRoutes.Options unscopedOptions;
  private RouteConfiguration unscopedRoutes;

  /**
   * The sidecars of {@code service} are sent: {@code fleet}'s clusters (as {@link SidecarClusters}
   * has them) and endpoints, and their own listeners and outbound routes.
   */
  public synchronized XdsResources translate(
      XdsResources fleet,
      RegistryState state,
      GatewaySettings settings,
      PolicyHandover handover,
      String service) {
    ServiceState own = state.services().get(service);
    OwnPart part = ownPart(service, own, settings, handover);
    Map<String, Cluster> applications = part.applications();
    boolean enforcesPolicies = part.enforcesPolicies();
    List<RouteConfiguration> routes = new ArrayList<>(part.inboundRoutes().size() + 1);
    routes.add(outboundRoutes(state, own, OutboundRoutes.Options.of(settings)));
    routes.addAll(part.inboundRoutes());
    List<Listener> listeners = part.listeners();
    // Scoped: only the clusters of the services it calls, and nothing that changes with any other
    // service; the gateway's own JWKS and rate-limit clusters only when its inbound listener
    // enforces the service's policies.
    List<Cluster> clusters;
    List<ClusterLoadAssignment> endpoints;
    if (own == null || !own.mesh().scoped()) {
      clusters = unscopedClusters(fleet.clusters(), applications);
      endpoints = fleet.endpoints();
    } else {
      java.util.SortedSet<String> called = calledClusters(own.mesh().calls());
      clusters = new ArrayList<>(applications.values());
      scoped(fleet.clusters(), Cluster::getName, called, enforcesPolicies).stream()
          .map(sidecarClusters::of)
          .forEach(clusters::add);
      endpoints =
          scoped(
              fleet.endpoints(), ClusterLoadAssignment::getClusterName, called, enforcesPolicies);
    }
    return new XdsResources(
        listeners,
        routes,
        clusters,
        endpoints,
        // None of the fleet's: not the certificates the edge's listeners serve, nor the edge's
        // upstream client certificates (SidecarClusters).
        List.of(),
        fleet.localZoneClusters());
  }

  /**
   * A service's own part of what its sidecars are sent (their listeners, inbound routes and
   * application clusters) and what it was made from: the service's state, the settings, and whether
   * the service is handing its policies over (all the handover means to its sidecars).
   */
  private record OwnPart(
      ServiceState own,
      GatewaySettings settings,
      boolean handingOver,
      boolean enforcesPolicies,
      List<Listener> listeners,
      List<RouteConfiguration> inboundRoutes,
      Map<String, Cluster> applications) {}

  /**
   * Each service's own part, by service, kept while what it was made from stays: a change to
   * another service then costs a sidecar group no listener or route made and hashed again (about a
   * tenth of a millisecond per group and change, with hundreds of groups). Guarded by this.
   */
  private final Map<String, OwnPart> ownParts = new java.util.HashMap<>();

  /** Lets go of {@code service}'s own part: no Envoy of its sidecars is connected any more. */
  public synchronized void forget(String service) {
    ownParts.remove(service);
  }

  private OwnPart ownPart(
      String service, ServiceState own, GatewaySettings settings, PolicyHandover handover) {
    OwnPart before = ownParts.get(service);
    boolean handingOver = handover.includes(service);
    if (before != null
        && java.util.Objects.equals(before.own(), own)
        && before.settings().equals(settings)
        && before.handingOver() == handingOver) {
      return before;
    }
    List<Listener> listeners = new ArrayList<>();
    List<RouteConfiguration> inboundRoutes = new ArrayList<>();
    Map<String, Cluster> applications = new TreeMap<>();
    listeners.add(outboundListener(settings.sidecars(), service));
    // The policy filters sit in the inbound listener whenever the sidecars may enforce a route's
    // policies, enabled per route by RDS: a policy moving to or from the sidecars then changes
    // their routes only, which apply to every request at once, while a changed listener would
    // leave connections opened before on the old filter chain until they drain.
    boolean enforcesPolicies = own != null && InboundRoutes.mayEnforcePolicies(own);
    if (own != null) {
      for (Instance inbound : inboundPorts(own).values()) {
        listeners.add(InboundListeners.listener(inbound, own, settings, enforcesPolicies));
        String listenerName = XdsNames.sidecarInboundListener(inbound.port());
        inboundRoutes.add(
            RouteConfiguration.newBuilder()
                .setName(listenerName)
                .addVirtualHosts(
                    InboundListeners.allowedCallersOnly(
                        InboundRoutes.virtualHost(
                            own,
                            settings,
                            XdsNames.sidecarApplicationCluster(inbound.applicationPort()),
                            handingOver),
                        own,
                        settings.access()))
                .build());
        String name = XdsNames.sidecarApplicationCluster(inbound.applicationPort());
        applications.put(
            name,
            applicationClusters.computeIfAbsent(
                inbound.applicationPort(),
                port ->
                    EnvoyProtos.singleEndpointCluster(
                            name, "127.0.0.1", port, LOCAL_CONNECT_TIMEOUT)
                        .build()));
      }
    }
    OwnPart part =
        new OwnPart(
            own,
            settings,
            handingOver,
            enforcesPolicies,
            List.copyOf(listeners),
            List.copyOf(inboundRoutes),
            java.util.Collections.unmodifiableMap(applications));
    ownParts.put(service, part);
    return part;
  }

  /**
   * The application clusters by port, which is all they depend on: the same objects for every
   * service and publication, so their versions are taken, not hashed again. Guarded by this.
   */
  private final Map<Integer, Cluster> applicationClusters = new java.util.HashMap<>();

  /** The clusters of unscoped sidecars, made for one list of the fleet's and one port set. */
  private record UnscopedClusters(List<Cluster> fleet, List<Cluster> clusters) {}

  /**
   * By the names of the application clusters (the ports): the clusters of sidecars that name no
   * callees. Every such service whose applications listen on the same ports shares one list (made
   * once per list of the fleet's clusters), whose versions are then taken, not hashed, for each
   * service: at 10,000 services each unscoped service's sidecars cost 3.6 ms per publication when
   * every one made its own list. Guarded by this.
   */
  private final Map<java.util.Set<String>, UnscopedClusters> unscopedClusters =
      new java.util.HashMap<>();

  /** The fleet's clusters and the application clusters, merged in name order. */
  private List<Cluster> unscopedClusters(List<Cluster> fleet, Map<String, Cluster> applications) {
    UnscopedClusters made = unscopedClusters.get(applications.keySet());
    if (made != null && made.fleet() == fleet) {
      return made.clusters();
    }
    // Lists made for an earlier list of the fleet's clusters are of no use any more.
    unscopedClusters.values().removeIf(other -> other.fleet() != fleet);
    List<Cluster> merged = new ArrayList<>(fleet.size() + applications.size());
    java.util.Iterator<Cluster> own = applications.values().iterator();
    Cluster next = own.hasNext() ? own.next() : null;
    for (Cluster cluster : fleet) {
      while (next != null && next.getName().compareTo(cluster.getName()) < 0) {
        merged.add(next);
        next = own.hasNext() ? own.next() : null;
      }
      merged.add(sidecarClusters.of(cluster));
    }
    while (next != null) {
      merged.add(next);
      next = own.hasNext() ? own.next() : null;
    }
    List<Cluster> clusters = XdsResources.nameOrdered(merged, Cluster::getName);
    unscopedClusters.put(
        java.util.Set.copyOf(applications.keySet()), new UnscopedClusters(fleet, clusters));
    return clusters;
  }

  /**
   * What the resources of a scoped service's sidecars are made from besides the service's own
   * state, the settings and the handover (and, in the xds stage, its certificate): the states of
   * the services it calls, in the order of {@code calls}. The rest they take of the fleet follows
   * from those and the settings: a service's cluster and endpoints from its state and the settings
   * (as the gateway translator keeps them per service), the gateway's JWKS and rate-limit clusters
   * and the upstream client certificates from the settings alone.
   */
  public record ScopedInputs(List<Optional<ServiceState>> callees) {}

  /**
   * The {@link ScopedInputs} of {@code own}'s sidecars in {@code state}, found by name at a cost
   * that follows the calls, not the registry; equal inputs (with the same own state, settings and
   * handover) make equal resources, so a publication that changed none of them can keep what the
   * sidecars were sent instead of translating it again. Empty for a service that names no calls:
   * its sidecars take every service.
   */
  public static Optional<ScopedInputs> scopedInputs(ServiceState own, RegistryState state) {
    if (own == null || !own.mesh().scoped()) {
      return Optional.empty();
    }
    return Optional.of(
        new ScopedInputs(
            own.mesh().calls().stream()
                .map(name -> Optional.ofNullable(state.services().get(name)))
                .toList()));
  }

  private static java.util.SortedSet<String> calledClusters(List<String> calls) {
    return calls.stream()
        .map(XdsNames::serviceCluster)
        .collect(java.util.stream.Collectors.toCollection(java.util.TreeSet::new));
  }

  /**
   * What a scoped sidecar takes of {@code sorted}, one of the fleet's name-ordered lists: the
   * resources of the {@code called} service clusters and, when it enforces policies, every resource
   * that is no service's (the settings' JWKS and rate-limit clusters), in name order. Found by
   * name, at a cost that follows the calls: every caller of a changed service is made again, and
   * each walked the whole registry's clusters and endpoints.
   */
  private static <T> List<T> scoped(
      List<T> sorted,
      java.util.function.Function<T, String> name,
      java.util.SortedSet<String> called,
      boolean enforcesPolicies) {
    int servicesFrom = NameOrder.firstFrom(sorted, name, XdsNames.serviceCluster(""));
    int servicesTo = NameOrder.firstFrom(sorted, name, XdsNames.AFTER_SERVICE_CLUSTERS);
    List<T> services = sorted.subList(servicesFrom, servicesTo);
    List<T> taken = new ArrayList<>(called.size());
    if (enforcesPolicies) {
      taken.addAll(sorted.subList(0, servicesFrom));
    }
    for (String cluster : called) {
      T resource = NameOrder.named(services, name, cluster);
      if (resource != null) {
        taken.add(resource);
      }
    }
    if (enforcesPolicies) {
      taken.addAll(sorted.subList(servicesTo, sorted.size()));
    }
    return taken;
  }

  /** One instance per inbound port (the first by id, should two ask for different apps). */
  private static Map<Integer, Instance> inboundPorts(ServiceState service) {
    Map<Integer, Instance> byPort = new TreeMap<>();
    service.instances().stream()
        .filter(Instance::hasSidecar)
        .sorted(java.util.Comparator.comparing(Instance::id))
        .forEach(instance -> byPort.putIfAbsent(instance.port(), instance));
    return byPort;
  }

  private static Listener outboundListener(SidecarSettings sidecars, String service) {
    HttpConnectionManager connectionManager =
        connectionManager(XdsNames.SIDECAR_OUTBOUND_LISTENER)
            .setRds(
                Rds.newBuilder()
                    .setConfigSource(XdsNames.adsConfigSource())
                    .setRouteConfigName(XdsNames.SIDECAR_OUTBOUND_ROUTES))
            .build();
    return Listener.newBuilder()
        .setName(XdsNames.SIDECAR_OUTBOUND_LISTENER)
        .setAddress(
            EnvoyProtos.socketAddress(sidecars.outboundAddress(), sidecars.outboundPort(service)))
        .addFilterChains(FilterChain.newBuilder().addFilters(filter(connectionManager)))
        .build();
  }

  /**
   * A virtual host per service (each service {@code own} calls, when it says), named by its bare
   * name with or without a port, with the callee's resilience ({@link OutboundRoutes}).
   */
  private RouteConfiguration outboundRoutes(
      RegistryState state, ServiceState own, OutboundRoutes.Options options) {
    if (own != null && own.mesh().scoped()) {
      return outboundRoutes(
          own.mesh().calls().stream()
              .sorted()
              .map(state.services()::get)
              .filter(java.util.Objects::nonNull)
              .toList(),
          options,
          null);
    }
    if (state != unscopedState || !options.equals(unscopedOptions)) {
      unscopedRoutes = outboundRoutes(state.services().values(), options, unscopedRoutes);
      unscopedState = state;
      unscopedOptions = options;
      // Hosts of services that went are forgotten once there are more hosts than services (a
      // service replaced by another, at the next change), not by a walk over every host on every
      // change; a kept host is taken only for a callee state it was made from or equals.
      if (calleeHosts.size() > state.services().size()) {
        calleeHosts.keySet().removeIf(name -> !state.services().containsKey(name));
      }
    }
    return unscopedRoutes;
  }

  /**
   * The outbound routes to {@code callees}; {@code before} itself when it holds the very same
   * virtual hosts. A callee's host is made again only when its state changed, and kept as the same
   * object when it came out equal (an instance change: the host names no instance), so a change
   * that moves no host keeps the configuration, and its version is taken, not digested again.
   */
  private RouteConfiguration outboundRoutes(
      java.util.Collection<ServiceState> callees,
      OutboundRoutes.Options options,
      RouteConfiguration before) {
    List<VirtualHost> hosts = new ArrayList<>(callees.size());
    boolean same = before != null && before.getVirtualHostsCount() == callees.size();
    for (ServiceState callee : callees) {
      CalleeHost made = calleeHosts.get(callee.name());
      if (made == null || made.callee() != callee || !made.options().equals(options)) {
        VirtualHost host = OutboundRoutes.virtualHost(callee, options);
        if (made != null && made.virtualHost().equals(host)) {
          host = made.virtualHost();
        }
        made = new CalleeHost(callee, options, host);
        calleeHosts.put(callee.name(), made);
      }
      same = same && before.getVirtualHosts(hosts.size()) == made.virtualHost();
      hosts.add(made.virtualHost());
    }
    if (same) {
      return before;
    }
    return RouteConfiguration.newBuilder()
        .setName(XdsNames.SIDECAR_OUTBOUND_ROUTES)
        .addAllVirtualHosts(hosts)
        // The callee's sidecar takes the client's address from the last x-forwarded-for entry,
        // which only the edge may write (it appends the address it saw): one the application set
        // would pick its own client address, e.g. a new one per request for a per-client rate
        // limit. Without it, the callee takes the calling sidecar's address.
        .addRequestHeadersToRemove("x-forwarded-for")
        .build();
  }

  static HttpConnectionManager.Builder connectionManager(String statPrefix) {
    return HttpConnectionManager.newBuilder()
        .setStatPrefix(statPrefix)
        .setCodecType(HttpConnectionManager.CodecType.AUTO)
        .setNormalizePath(BoolValue.of(true))
        .setMergeSlashes(true)
        .addHttpFilters(
            HttpFilter.newBuilder()
                .setName(XdsNames.ROUTER_FILTER)
                .setTypedConfig(Any.pack(Router.getDefaultInstance())));
  }

  static Filter filter(HttpConnectionManager connectionManager) {
    return Filter.newBuilder()
        .setName(XdsNames.HTTP_CONNECTION_MANAGER)
        .setTypedConfig(Any.pack(connectionManager))
        .build();
  }
}
