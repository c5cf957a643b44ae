package io.signalbox.admin;

import com.google.protobuf.Duration;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.Durations;
import io.signalbox.admin.v1.CutOffStream;
import io.signalbox.admin.v1.HistoryEntry;
import io.signalbox.admin.v1.Locality;
import io.signalbox.admin.v1.Nack;
import io.signalbox.admin.v1.PolicySource;
import io.signalbox.admin.v1.Proxy;
import io.signalbox.admin.v1.ResourceChanges;
import io.signalbox.admin.v1.ResourceTypeStatus;
import io.signalbox.admin.v1.Route;
import io.signalbox.admin.v1.ServiceChange;
import io.signalbox.admin.v1.SyncStatus;
import io.signalbox.admin.v1.XdsMode;
import io.signalbox.config.GatewaySettings;
import io.signalbox.config.PolicyDefaults;
import io.signalbox.envoy.XdsTypes;
import io.signalbox.model.AuthRequirement;
import io.signalbox.model.RateLimit;
import io.signalbox.model.RouteSpec;
import io.signalbox.model.ServiceState;
import io.signalbox.registry.v1.AuthPolicy;
import io.signalbox.registry.v1.ClaimRequirement;
import io.signalbox.registry.v1.ClaimToHeader;
import io.signalbox.registry.v1.RateLimitPolicy;
import io.signalbox.store.RegisteredInstance;
import io.signalbox.translate.RouteDecision;
import io.signalbox.translate.XdsNames;
import io.signalbox.xds.NodeGroups;
import io.signalbox.xds.ProxyStatusTracker;
import io.signalbox.xds.SnapshotHistory;
import java.time.Instant;
import java.util.Optional;
import java.util.SortedMap;

/** The control plane's records as admin API messages. */
final class AdminProtos {

  private AdminProtos() {}

  static CutOffStream cutOff(ProxyStatusTracker.CutOffStream stream) {
    return CutOffStream.newBuilder()
        .setNodeId(stream.node().getId())
        .setGroup(stream.group())
        .setStreamId(stream.streamId())
        .setLaggedFor(duration(stream.laggedFor()))
        .setAt(timestamp(stream.at()))
        .build();
  }

  static Proxy proxy(ProxyStatusTracker.ProxyStatus status) {
    return proxy(status, java.util.Optional.empty());
  }

  /** With the expiry of the workload certificate the proxy's group holds, if any. */
  static Proxy proxy(
      ProxyStatusTracker.ProxyStatus status, java.util.Optional<java.time.Instant> certificate) {
    io.envoyproxy.envoy.config.core.v3.Locality locality = status.node().getLocality();
    Proxy.Builder proxy =
        Proxy.newBuilder()
            .setNodeId(status.nodeId())
            .setGroup(status.group())
            .setLocality(
                Locality.newBuilder()
                    .setRegion(locality.getRegion())
                    .setZone(locality.getZone())
                    .setSubZone(locality.getSubZone()))
            .setEnvoyVersion(status.envoyVersion())
            .setUserAgent(status.node().getUserAgentName())
            .setXdsMode(
                status.mode() == ProxyStatusTracker.Mode.SOTW ? XdsMode.SOTW : XdsMode.DELTA)
            .setConnectedSince(timestamp(status.connectedSince()))
            .setStatus(syncStatus(status.status()))
            .setStreamId(status.streamId());
    java.util.Optional<String> workload = NodeGroups.sidecarService(status.group());
    proxy.setRole(workload.isPresent() ? "sidecar" : "edge").setWorkload(workload.orElse(""));
    certificate.ifPresent(expiry -> proxy.setCertificateExpires(timestamp(expiry)));
    status.laggingFor().ifPresent(lagging -> proxy.setLaggingFor(duration(lagging)));
    status
        .types()
        .values()
        .forEach(
            type -> {
              ResourceTypeStatus.Builder typeStatus =
                  ResourceTypeStatus.newBuilder()
                      .setTypeUrl(type.typeUrl())
                      .setType(XdsTypes.shortName(type.typeUrl()))
                      .setStatus(syncStatus(type.status()))
                      .setVersionSent(type.versionSent())
                      .setVersionAcked(type.versionAcked());
              type.sentAt().ifPresent(at -> typeStatus.setSentAt(timestamp(at)));
              type.ackedAt().ifPresent(at -> typeStatus.setAckedAt(timestamp(at)));
              type.lastNack()
                  .ifPresent(
                      nack ->
                          typeStatus.setLastNack(
                              Nack.newBuilder()
                                  .setVersion(nack.version())
                                  .setErrorDetail(nack.errorDetail())
                                  .setAt(timestamp(nack.at()))));
              proxy.addTypes(typeStatus);
            });
    return proxy.build();
  }

  static SyncStatus syncStatus(ProxyStatusTracker.SyncStatus status) {
    return switch (status) {
      case SYNCED -> SyncStatus.SYNCED;
      case STALE -> SyncStatus.STALE;
      case NACKED -> SyncStatus.NACKED;
      case NOT_SENT -> SyncStatus.NOT_SENT;
    };
  }

  static HistoryEntry historyEntry(SnapshotHistory.Entry entry) {
    HistoryEntry.Builder proto =
        HistoryEntry.newBuilder()
            .setVersion(entry.version())
            .setPublishedAt(timestamp(entry.publishedAt()))
            .setInitial(entry.initial())
            .setSettingsChanged(entry.settingsChanged())
            .setRegistryRevision(entry.registryRevision())
            .addAllChanges(changes(entry.changes()));
    entry
        .services()
        .forEach(
            (service, kind) ->
                proto.addServices(
                    ServiceChange.newBuilder()
                        .setService(service)
                        .setKind(
                            switch (kind) {
                              case ADDED -> ServiceChange.Kind.ADDED;
                              case REMOVED -> ServiceChange.Kind.REMOVED;
                              case MODIFIED -> ServiceChange.Kind.MODIFIED;
                            })
                        .setChangedBy(entry.changedBy().getOrDefault(service, ""))));
    return proto.build();
  }

  static Iterable<ResourceChanges> changes(SortedMap<String, SnapshotHistory.TypeChanges> changes) {
    return changes.entrySet().stream()
        .map(
            e ->
                ResourceChanges.newBuilder()
                    .setType(e.getKey())
                    .addAllAdded(e.getValue().added())
                    .addAllRemoved(e.getValue().removed())
                    .addAllModified(e.getValue().modified())
                    .build())
        .toList();
  }

  static io.signalbox.admin.v1.Instance instance(
      RegisteredInstance registered, Optional<Instant> evictAt) {
    io.signalbox.model.Instance instance = registered.instance();
    io.signalbox.admin.v1.Instance.Builder proto =
        io.signalbox.admin.v1.Instance.newBuilder()
            .setService(registered.service())
            .setId(instance.id())
            .setHost(instance.host())
            .setAddress(instance.address())
            .setPort(instance.port())
            .setZone(instance.zone())
            .setWeight(instance.weight())
            .putAllMetadata(instance.metadata())
            .setState(
                registered.drained()
                    ? io.signalbox.admin.v1.Instance.State.DRAINED
                    : registered.notServing()
                        ? io.signalbox.admin.v1.Instance.State.NOT_SERVING
                        : io.signalbox.admin.v1.Instance.State.SERVING)
            .setLeaseTtl(duration(registered.ttl()))
            .setLeaseRemaining(duration(registered.leaseRemaining()))
            .setRegisteredAt(timestamp(registered.registeredAt()));
    evictAt.ifPresent(at -> proto.setEvictAt(timestamp(at)));
    return proto.build();
  }

  /**
   * A route as the translator decides it ({@link RouteDecision}): its action, the policies in force
   * and where they are enforced.
   */
  static Route route(ServiceState owner, RouteSpec spec, GatewaySettings settings) {
    PolicyDefaults defaults = settings.defaults();
    RouteDecision decision = RouteDecision.of(owner, spec, settings);
    Route.Builder route =
        Route.newBuilder()
            .setName(XdsNames.route(owner.name(), spec.match().toString()))
            .setOwner(owner.name())
            .addAllHosts(spec.hosts())
            .setMatch(spec.match().toString())
            .setPublic(spec.publicRoute())
            .setAction(decision.action())
            .setPoliciesEnforcedAt(
                decision.enforcedBySidecars()
                    ? io.signalbox.admin.v1.PolicyEnforcement.AT_SIDECARS
                    : io.signalbox.admin.v1.PolicyEnforcement.AT_EDGE);
    decision.destination().ifPresent(route::setDestination);
    spec.prefixRewrite().ifPresent(route::setPrefixRewrite);
    spec.timeout().ifPresent(timeout -> route.setTimeout(duration(timeout)));
    Optional<AuthRequirement> auth = decision.auth();
    auth.ifPresent(requirement -> route.setAuth(authPolicy(requirement)));
    route.setAuthSource(
        spec.auth().isPresent()
            ? PolicySource.REGISTRATION
            : auth.isPresent() ? PolicySource.OPERATOR_DEFAULT : PolicySource.NO_POLICY);
    Optional<RateLimit> limit = decision.rateLimit();
    limit.ifPresent(l -> route.setRateLimit(rateLimitPolicy(l, defaults)));
    route.setRateLimitSource(
        spec.rateLimit().isPresent()
            ? PolicySource.REGISTRATION
            : limit.isPresent() ? PolicySource.OPERATOR_DEFAULT : PolicySource.NO_POLICY);
    return route.build();
  }

  private static AuthPolicy authPolicy(AuthRequirement requirement) {
    AuthPolicy.Builder policy =
        AuthPolicy.newBuilder()
            .setProvider(requirement.provider())
            .addAllRequiredScopes(requirement.requiredScopes());
    requirement
        .requiredClaims()
        .forEach(
            claim ->
                policy.addRequiredClaims(
                    ClaimRequirement.newBuilder()
                        .setName(claim.name())
                        .addAllValues(claim.values())));
    requirement
        .forwardClaims()
        .forEach(
            forward ->
                policy.addForwardClaims(
                    ClaimToHeader.newBuilder()
                        .setClaim(forward.claim())
                        .setHeader(forward.header())));
    return policy.build();
  }

  private static RateLimitPolicy rateLimitPolicy(RateLimit limit, PolicyDefaults defaults) {
    RateLimitPolicy.Builder policy =
        RateLimitPolicy.newBuilder()
            .setRequests(limit.requests())
            .setUnit(
                switch (limit.unit()) {
                  case SECOND -> RateLimitPolicy.Unit.SECOND;
                  case MINUTE -> RateLimitPolicy.Unit.MINUTE;
                  case HOUR -> RateLimitPolicy.Unit.HOUR;
                })
            .setScope(
                limit.scope() == RateLimit.Scope.GLOBAL
                    ? RateLimitPolicy.Scope.GLOBAL
                    : RateLimitPolicy.Scope.LOCAL)
            .setPerClientIp(limit.perClientIp());
    limit.perHeader().ifPresent(policy::setPerHeader);
    if (limit.scope() == RateLimit.Scope.GLOBAL) {
      RateLimit.FailureMode mode = defaults.failureModeOf(limit);
      policy.setFailureMode(
          mode == RateLimit.FailureMode.DENY
              ? RateLimitPolicy.FailureMode.DENY
              : RateLimitPolicy.FailureMode.ALLOW);
    }
    return policy.build();
  }

  static Timestamp timestamp(Instant instant) {
    return Timestamp.newBuilder()
        .setSeconds(instant.getEpochSecond())
        .setNanos(instant.getNano())
        .build();
  }

  static Duration duration(java.time.Duration duration) {
    return Durations.fromNanos(duration.toNanos());
  }

  static java.time.Duration duration(Duration duration) {
    return java.time.Duration.ofSeconds(duration.getSeconds(), duration.getNanos());
  }
}
