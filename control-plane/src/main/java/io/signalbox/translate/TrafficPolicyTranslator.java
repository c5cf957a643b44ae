package io.signalbox.translate;

import com.google.protobuf.Struct;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.core.v3.HealthCheck;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.type.v3.CodecClientType;
import io.signalbox.model.TrafficPolicy;
import io.signalbox.model.UpstreamProtocol;

/**
 * A service's {@link TrafficPolicy} on its cluster (load balancer, circuit breakers, outlier
 * detection) and on its routes (the hash key of the hashing balancers).
 */
final class TrafficPolicyTranslator {

  private TrafficPolicyTranslator() {}

  static Cluster.Builder apply(
      TrafficPolicy traffic, UpstreamProtocol protocol, Cluster.Builder cluster) {
    cluster.setLbPolicy(
        switch (traffic.loadBalancer()) {
          case ROUND_ROBIN -> Cluster.LbPolicy.ROUND_ROBIN;
          case LEAST_REQUEST -> Cluster.LbPolicy.LEAST_REQUEST;
          case RING_HASH -> Cluster.LbPolicy.RING_HASH;
          case MAGLEV -> Cluster.LbPolicy.MAGLEV;
        });
    // Envoy's retry budget overrides max_retries (circuit_breaker.proto): a service that sets a
    // limit on retries gets that limit instead of the budget.
    boolean retryLimit =
        traffic.circuitBreaker().map(limits -> limits.maxRetries() > 0).orElse(false);
    CircuitBreakers.Thresholds.Builder thresholds =
        retryLimit
            ? CircuitBreakers.Thresholds.newBuilder()
            : RetryPolicyTranslator.retryBudgetThresholds();
    traffic
        .circuitBreaker()
        .ifPresent(
            limits -> {
              setIfPositive(limits.maxConnections(), thresholds::setMaxConnections);
              setIfPositive(limits.maxPendingRequests(), thresholds::setMaxPendingRequests);
              setIfPositive(limits.maxRequests(), thresholds::setMaxRequests);
              setIfPositive(limits.maxRetries(), thresholds::setMaxRetries);
            });
    cluster.setCircuitBreakers(CircuitBreakers.newBuilder().addThresholds(thresholds));
    traffic
        .outlierDetection()
        .ifPresent(
            outliers -> {
              OutlierDetection.Builder detection =
                  OutlierDetection.newBuilder()
                      .setConsecutive5Xx(UInt32Value.of(outliers.consecutive5xx()))
                      .setInterval(EnvoyProtos.duration(outliers.interval()))
                      .setBaseEjectionTime(EnvoyProtos.duration(outliers.baseEjectionTime()))
                      .setMaxEjectionPercent(UInt32Value.of(outliers.maxEjectionPercent()));
              if (outliers.consecutiveGatewayErrors() > 0) {
                // Envoy counts gateway errors apart only when this one is enforced (0 % by
                // default).
                detection
                    .setConsecutiveGatewayFailure(
                        UInt32Value.of(outliers.consecutiveGatewayErrors()))
                    .setEnforcingConsecutiveGatewayFailure(UInt32Value.of(100));
              }
              cluster.setOutlierDetection(detection);
            });
    traffic.healthCheck().ifPresent(check -> cluster.addHealthChecks(healthCheck(check, protocol)));
    traffic
        .versions()
        .ifPresent(
            split ->
                cluster.setLbSubsetConfig(
                    Cluster.LbSubsetConfig.newBuilder()
                        // A version without live instances takes nothing away: any instance serves.
                        .setFallbackPolicy(
                            Cluster.LbSubsetConfig.LbSubsetFallbackPolicy.ANY_ENDPOINT)
                        .addSubsetSelectors(
                            Cluster.LbSubsetConfig.LbSubsetSelector.newBuilder()
                                .addKeys(TrafficPolicy.VERSION_KEY))));
    return cluster;
  }

  private static HealthCheck healthCheck(
      TrafficPolicy.HealthCheck check, UpstreamProtocol protocol) {
    HealthCheck.Builder health =
        HealthCheck.newBuilder()
            .setTimeout(EnvoyProtos.duration(check.timeout()))
            .setInterval(EnvoyProtos.duration(check.interval()))
            // Checked as often before the first request as after: a new instance is judged at once.
            .setNoTrafficInterval(EnvoyProtos.duration(check.interval()))
            .setUnhealthyThreshold(UInt32Value.of(check.unhealthyThreshold()))
            .setHealthyThreshold(UInt32Value.of(check.healthyThreshold()));
    return switch (check.kind()) {
      case HTTP -> {
        HealthCheck.HttpHealthCheck.Builder http =
            HealthCheck.HttpHealthCheck.newBuilder().setPath(check.target());
        if (protocol.http2()) {
          // The check speaks HTTP/1.1 unless told otherwise: an instance that speaks only HTTP/2
          // (h2c) would fail it.
          http.setCodecClientType(CodecClientType.HTTP2);
        }
        yield health.setHttpHealthCheck(http).build();
      }
      case GRPC ->
          health
              .setGrpcHealthCheck(
                  HealthCheck.GrpcHealthCheck.newBuilder().setServiceName(check.target()))
              .build();
    };
  }

  /**
   * Envoy's route action to {@code destination}: its cluster, over its versions by weight or to its
   * pinned version, with its hash key.
   */
  static RouteAction.Builder routeAction(Destination destination) {
    RouteAction.Builder action = RouteAction.newBuilder();
    if (destination.pinnedVersion().isPresent()) {
      action
          .setCluster(destination.cluster())
          .setMetadataMatch(version(destination.pinnedVersion().get()));
    } else if (destination.versions().isPresent()) {
      action.setWeightedClusters(
          weightedVersions(destination.cluster(), destination.versions().get()));
    } else {
      action.setCluster(destination.cluster());
    }
    destination.hashOn().ifPresent(key -> action.addHashPolicy(hashPolicy(key)));
    return action;
  }

  /** Selects the instances of one version (the subset of a version split). */
  private static Metadata version(String version) {
    return Metadata.newBuilder()
        .putFilterMetadata(
            XdsNames.LB_METADATA_NAMESPACE,
            Struct.newBuilder()
                .putFields(
                    TrafficPolicy.VERSION_KEY, Value.newBuilder().setStringValue(version).build())
                .build())
        .build();
  }

  /** The service's requests over its versions, by weight. */
  private static WeightedCluster weightedVersions(
      String cluster, TrafficPolicy.VersionSplit split) {
    WeightedCluster.Builder weighted = WeightedCluster.newBuilder();
    for (TrafficPolicy.VersionWeight weight : split.weights()) {
      if (weight.weight() > 0) {
        weighted.addClusters(
            WeightedCluster.ClusterWeight.newBuilder()
                .setName(cluster)
                .setWeight(UInt32Value.of(weight.weight()))
                .setMetadataMatch(version(weight.version())));
      }
    }
    return weighted.build();
  }

  private static void setIfPositive(
      int value, java.util.function.Function<UInt32Value, CircuitBreakers.Thresholds.Builder> set) {
    if (value > 0) {
      set.apply(UInt32Value.of(value));
    }
  }

  private static RouteAction.HashPolicy hashPolicy(TrafficPolicy.HashOn key) {
    RouteAction.HashPolicy.Builder policy = RouteAction.HashPolicy.newBuilder();
    return switch (key.kind()) {
      case HEADER ->
          policy
              .setHeader(RouteAction.HashPolicy.Header.newBuilder().setHeaderName(key.name()))
              .build();
      case COOKIE ->
          policy.setCookie(RouteAction.HashPolicy.Cookie.newBuilder().setName(key.name())).build();
      case SOURCE_IP ->
          policy
              .setConnectionProperties(
                  RouteAction.HashPolicy.ConnectionProperties.newBuilder().setSourceIp(true))
              .build();
    };
  }
}
