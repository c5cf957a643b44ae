package io.signalbox.bench;

import com.google.protobuf.Any;
import io.envoyproxy.controlplane.cache.NodeGroup;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.stub.StreamObserver;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.RegisterResponse;
import io.signalbox.registry.v1.RegistryGrpc;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The baseline the benchmarks compare Signalbox with: java-control-plane 1.0.49 used as its README
 * shows, the way a team would write a control plane on the bare library. One {@code SimpleCache},
 * node groups by {@code node.cluster}, and a whole {@code Snapshot.create(..., version)} with a
 * counter version on every change, built and set on one publishing thread.
 *
 * <p>It answers the registry API's {@code Register} (service, instance, prefix routes) with the
 * same resource shapes Signalbox sends for such a service: one EDS cluster {@code svc-<name>}, its
 * ClusterLoadAssignment, one RouteConfiguration with a route per prefix, and one listener naming
 * it. No validation, leases, policies or security: it is the library's cost, not a product.
 *
 * <p>Run in its own JVM by {@link ControlPlaneProcess#startBare}; prints nothing but errors.
 */
public final class BareJavaControlPlane {

  private static final String GROUP = "edge";
  private static final String ROUTES = "routes";

  private record Service(List<String> prefixes, Map<String, LbEndpoint> endpoints) {}

  private final SimpleCache<String> cache;
  private final Map<String, Service> services = new TreeMap<>();
  private final ExecutorService publisher = Executors.newSingleThreadExecutor();

  /** A publication is queued: changes meanwhile are in it (the coalescing any team would add). */
  private final AtomicBoolean publishQueued = new AtomicBoolean();

  private long version;

  private BareJavaControlPlane(SimpleCache<String> cache) {
    this.cache = cache;
  }

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[args.length - 1]);
    NodeGroup<String> byCluster = (Node node) -> node.getCluster();
    SimpleCache<String> cache = new SimpleCache<>(byCluster);
    BareJavaControlPlane controlPlane = new BareJavaControlPlane(cache);
    controlPlane.publisher.execute(controlPlane::publish);
    V3DiscoveryServer discovery = new V3DiscoveryServer(cache);
    HealthStatusManager health = new HealthStatusManager();
    Server server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
            .addService(discovery.getAggregatedDiscoveryServiceImpl())
            .addService(controlPlane.registry())
            .addService(health.getHealthService())
            .maxInboundMessageSize(64 * 1024 * 1024)
            .build()
            .start();
    Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow));
    server.awaitTermination();
  }

  private RegistryGrpc.RegistryImplBase registry() {
    return new RegistryGrpc.RegistryImplBase() {
      @Override
      public void register(
          RegisterRequest request, StreamObserver<RegisterResponse> responseObserver) {
        synchronized (services) {
          Service service =
              services.computeIfAbsent(
                  request.getService(), name -> new Service(new ArrayList<>(), new TreeMap<>()));
          service.prefixes().clear();
          request.getRoutesList().forEach(r -> service.prefixes().add(r.getPath().getPrefix()));
          service
              .endpoints()
              .put(
                  request.getInstance().getId(),
                  LbEndpoint.newBuilder()
                      .setEndpoint(
                          Endpoint.newBuilder()
                              .setAddress(
                                  address(
                                      request.getInstance().getHost(),
                                      request.getInstance().getPort())))
                      .build());
        }
        responseObserver.onNext(RegisterResponse.getDefaultInstance());
        responseObserver.onCompleted();
        if (publishQueued.compareAndSet(false, true)) {
          publisher.execute(
              () -> {
                publishQueued.set(false);
                publish();
              });
        }
      }
    };
  }

  /** The whole snapshot again, as {@code Snapshot.create} asks; one version for every type. */
  private void publish() {
    List<Cluster> clusters = new ArrayList<>();
    List<ClusterLoadAssignment> assignments = new ArrayList<>();
    VirtualHost.Builder virtualHost = VirtualHost.newBuilder().setName("any").addDomains("*");
    synchronized (services) {
      services.forEach(
          (name, service) -> {
            String cluster = "svc-" + name;
            clusters.add(
                Cluster.newBuilder()
                    .setName(cluster)
                    .setType(Cluster.DiscoveryType.EDS)
                    .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder().setEdsConfig(ads()))
                    .build());
            assignments.add(
                ClusterLoadAssignment.newBuilder()
                    .setClusterName(cluster)
                    .addEndpoints(
                        LocalityLbEndpoints.newBuilder()
                            .addAllLbEndpoints(service.endpoints().values()))
                    .build());
            service
                .prefixes()
                .forEach(
                    prefix ->
                        virtualHost.addRoutes(
                            Route.newBuilder()
                                .setMatch(RouteMatch.newBuilder().setPrefix(prefix))
                                .setRoute(RouteAction.newBuilder().setCluster(cluster))));
          });
    }
    RouteConfiguration routes =
        RouteConfiguration.newBuilder().setName(ROUTES).addVirtualHosts(virtualHost).build();
    cache.setSnapshot(
        GROUP,
        Snapshot.create(
            clusters,
            assignments,
            List.of(listener()),
            List.of(routes),
            List.of(),
            String.valueOf(++version)));
  }

  private static Listener listener() {
    HttpConnectionManager manager =
        HttpConnectionManager.newBuilder()
            .setStatPrefix("http")
            .setRds(Rds.newBuilder().setRouteConfigName(ROUTES).setConfigSource(ads()))
            .addHttpFilters(
                HttpFilter.newBuilder()
                    .setName("envoy.filters.http.router")
                    .setTypedConfig(Any.pack(Router.getDefaultInstance())))
            .build();
    return Listener.newBuilder()
        .setName("http")
        .setAddress(address("127.0.0.1", 10000))
        .addFilterChains(
            FilterChain.newBuilder()
                .addFilters(
                    Filter.newBuilder()
                        .setName("envoy.filters.network.http_connection_manager")
                        .setTypedConfig(Any.pack(manager))))
        .build();
  }

  private static ConfigSource ads() {
    return ConfigSource.newBuilder()
        .setResourceApiVersion(ApiVersion.V3)
        .setAds(AggregatedConfigSource.getDefaultInstance())
        .build();
  }

  private static Address address(String host, int port) {
    return Address.newBuilder()
        .setSocketAddress(SocketAddress.newBuilder().setAddress(host).setPortValue(port))
        .build();
  }
}
