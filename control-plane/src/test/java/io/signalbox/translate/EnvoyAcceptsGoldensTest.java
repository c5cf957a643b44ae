package io.signalbox.translate;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.ApiConfigSource;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.signalbox.testing.EnvoyBinary;
import io.signalbox.xds.MeshIdentities;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every golden case's resources are accepted by the Envoy the gateway runs ({@code envoy --mode
 * validate}): a golden file records what the translator makes, this says Envoy takes it (a field
 * Envoy refuses would otherwise show only as a NACK, and a quarantined service, in production).
 *
 * <p>The resources become a bootstrap's static resources: each route configuration inline in the
 * connection manager that names it, each EDS cluster static with its load assignment, and each
 * secret a TLS context names by SDS a static secret (the case's own, and a sidecar's workload
 * certificate and mesh CA as a group is sent them), so that Envoy checks routes, endpoints and
 * secrets too. (Envoy 1.40's validation crashes on a secret it would fetch by SDS.)
 */
class EnvoyAcceptsGoldensTest {

  static java.util.stream.Stream<String> cases() throws IOException {
    return GoldenTranslationTest.cases();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void envoyAcceptsTheResourcesOf(String name, @TempDir Path dir)
      throws IOException, InterruptedException {
    Path bootstrap = dir.resolve("bootstrap.pb");
    Files.write(bootstrap, bootstrap(GoldenTranslationTest.resources(name)).toByteArray());

    Path output = dir.resolve("envoy.log");
    Process validate =
        new ProcessBuilder(
                EnvoyBinary.path().toString(),
                "--mode",
                "validate",
                "--config-path",
                bootstrap.toString(),
                "--log-level",
                "warn")
            .redirectErrorStream(true)
            .redirectOutput(output.toFile())
            .start();

    boolean exited = validate.waitFor(60, TimeUnit.SECONDS);
    if (!exited) {
      validate.destroyForcibly();
    }
    assertThat(exited).as("envoy --mode validate of case %s ended", name).isTrue();
    assertThat(validate.exitValue())
        .as("envoy --mode validate of case %s:%n%s", name, Files.readString(output))
        .isZero();
  }

  private static final String ADS_CLUSTER = "signalbox-xds";

  private static Bootstrap bootstrap(XdsResources resources) {
    Map<String, RouteConfiguration> routes =
        resources.routes().stream()
            .collect(Collectors.toMap(RouteConfiguration::getName, Function.identity()));
    Map<String, ClusterLoadAssignment> endpoints =
        resources.endpoints().stream()
            .collect(Collectors.toMap(ClusterLoadAssignment::getClusterName, Function.identity()));
    Bootstrap.StaticResources.Builder resourcesOfCase = Bootstrap.StaticResources.newBuilder();
    resources
        .listeners()
        .forEach(l -> resourcesOfCase.addListeners(withStaticSecrets(withRoutesInline(l, routes))));
    resources
        .clusters()
        .forEach(
            c -> resourcesOfCase.addClusters(withStaticSecrets(withEndpointsInline(c, endpoints))));
    resourcesOfCase.addClusters(
        EnvoyProtos.singleEndpointCluster(ADS_CLUSTER, "127.0.0.1", 18000, Duration.ofSeconds(1))
            .putTypedExtensionProtocolOptions(
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                Any.pack(
                    io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions
                        .newBuilder()
                        .setExplicitHttpConfig(
                            io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions
                                .ExplicitHttpConfig.newBuilder()
                                .setHttp2ProtocolOptions(
                                    io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions
                                        .getDefaultInstance()))
                        .build())));
    List<Secret> secrets = new ArrayList<>(resources.secrets());
    secrets.addAll(workloadCertificate());
    resourcesOfCase.addAllSecrets(secrets);
    return Bootstrap.newBuilder()
        .setNode(Node.newBuilder().setId("golden").setCluster("edge"))
        .setStaticResources(resourcesOfCase)
        .setDynamicResources(
            Bootstrap.DynamicResources.newBuilder()
                .setAdsConfig(
                    ApiConfigSource.newBuilder()
                        .setApiType(ApiConfigSource.ApiType.DELTA_GRPC)
                        .setTransportApiVersion(io.envoyproxy.envoy.config.core.v3.ApiVersion.V3)
                        .addGrpcServices(
                            GrpcService.newBuilder()
                                .setEnvoyGrpc(
                                    GrpcService.EnvoyGrpc.newBuilder()
                                        .setClusterName(ADS_CLUSTER)))))
        .build();
  }

  /** The secrets a sidecar's group adds (what its listeners and mesh clusters name). */
  private static List<Secret> workloadCertificate() {
    MeshIdentities mesh =
        MeshIdentities.ephemeral("signalbox.local", Duration.ofHours(1), Clock.systemUTC());
    return mesh.secrets(mesh.current("spiffe://signalbox.local/service/golden"));
  }

  private static Listener withStaticSecrets(Listener listener) {
    Listener.Builder changed = listener.toBuilder();
    for (FilterChain.Builder chain : changed.getFilterChainsBuilderList()) {
      if (chain.hasTransportSocket()) {
        chain.setTransportSocket(withStaticSecrets(chain.getTransportSocket()));
      }
    }
    return changed.build();
  }

  private static Cluster withStaticSecrets(Cluster cluster) {
    Cluster.Builder changed = cluster.toBuilder();
    if (changed.hasTransportSocket()) {
      changed.setTransportSocket(withStaticSecrets(changed.getTransportSocket()));
    }
    for (Cluster.TransportSocketMatch.Builder match :
        changed.getTransportSocketMatchesBuilderList()) {
      match.setTransportSocket(withStaticSecrets(match.getTransportSocket()));
    }
    return changed.build();
  }

  private static TransportSocket withStaticSecrets(TransportSocket socket) {
    Any config = socket.getTypedConfig();
    try {
      if (config.is(DownstreamTlsContext.class)) {
        DownstreamTlsContext tls = config.unpack(DownstreamTlsContext.class);
        config =
            Any.pack(
                tls.toBuilder()
                    .setCommonTlsContext(withStaticSecrets(tls.getCommonTlsContext()))
                    .build());
      } else if (config.is(UpstreamTlsContext.class)) {
        UpstreamTlsContext tls = config.unpack(UpstreamTlsContext.class);
        config =
            Any.pack(
                tls.toBuilder()
                    .setCommonTlsContext(withStaticSecrets(tls.getCommonTlsContext()))
                    .build());
      }
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
    return socket.toBuilder().setTypedConfig(config).build();
  }

  /** The context with every secret it names by SDS named as a static secret instead. */
  private static CommonTlsContext withStaticSecrets(CommonTlsContext common) {
    CommonTlsContext.Builder changed = common.toBuilder();
    changed.getTlsCertificateSdsSecretConfigsBuilderList().forEach(c -> c.clearSdsConfig());
    if (changed.hasValidationContextSdsSecretConfig()) {
      changed.getValidationContextSdsSecretConfigBuilder().clearSdsConfig();
    }
    if (changed.hasCombinedValidationContext()) {
      changed
          .getCombinedValidationContextBuilder()
          .getValidationContextSdsSecretConfigBuilder()
          .clearSdsConfig();
    }
    return changed.build();
  }

  private static Listener withRoutesInline(
      Listener listener, Map<String, RouteConfiguration> routes) {
    Listener.Builder inline = listener.toBuilder();
    for (FilterChain.Builder chain : inline.getFilterChainsBuilderList()) {
      for (Filter.Builder filter : chain.getFiltersBuilderList()) {
        if (filter.getTypedConfig().is(HttpConnectionManager.class)) {
          HttpConnectionManager manager = unpack(filter.getTypedConfig());
          if (manager.hasRds()) {
            RouteConfiguration named = routes.get(manager.getRds().getRouteConfigName());
            assertThat(named)
                .as("route configuration %s", manager.getRds().getRouteConfigName())
                .isNotNull();
            filter.setTypedConfig(
                Any.pack(manager.toBuilder().clearRds().setRouteConfig(named).build()));
          }
        }
      }
    }
    return inline.build();
  }

  private static Cluster withEndpointsInline(
      Cluster cluster, Map<String, ClusterLoadAssignment> endpoints) {
    if (cluster.getType() != Cluster.DiscoveryType.EDS) {
      return cluster;
    }
    return cluster.toBuilder()
        .clearEdsClusterConfig()
        .setType(Cluster.DiscoveryType.STATIC)
        .setLoadAssignment(
            endpoints.getOrDefault(
                cluster.getName(),
                ClusterLoadAssignment.newBuilder().setClusterName(cluster.getName()).build()))
        .build();
  }

  private static HttpConnectionManager unpack(Any typedConfig) {
    try {
      return typedConfig.unpack(HttpConnectionManager.class);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
  }
}
