package io.signalbox.admin;

import static io.signalbox.admin.AdminCalls.answer;
import static io.signalbox.admin.AdminCalls.invalid;
import static io.signalbox.admin.AdminCalls.notFound;
import static io.signalbox.admin.AdminCalls.required;

import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.controlplane.cache.SnapshotCache;
import io.envoyproxy.controlplane.cache.VersionedResource;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.grpc.stub.StreamObserver;
import io.signalbox.admin.v1.AdminGrpc;
import io.signalbox.admin.v1.DiffSnapshotsRequest;
import io.signalbox.admin.v1.DiffSnapshotsResponse;
import io.signalbox.admin.v1.DrainInstanceRequest;
import io.signalbox.admin.v1.EvictRequest;
import io.signalbox.admin.v1.EvictResponse;
import io.signalbox.admin.v1.GetPushStateRequest;
import io.signalbox.admin.v1.GetServiceRequest;
import io.signalbox.admin.v1.GetSnapshotRequest;
import io.signalbox.admin.v1.GetSnapshotResponse;
import io.signalbox.admin.v1.HistoryRequest;
import io.signalbox.admin.v1.HistoryResponse;
import io.signalbox.admin.v1.Instance;
import io.signalbox.admin.v1.ListProxiesRequest;
import io.signalbox.admin.v1.ListProxiesResponse;
import io.signalbox.admin.v1.ListServicesRequest;
import io.signalbox.admin.v1.ListServicesResponse;
import io.signalbox.admin.v1.PausePushesRequest;
import io.signalbox.admin.v1.PushState;
import io.signalbox.admin.v1.RegistrationStatus;
import io.signalbox.admin.v1.ReleaseQuarantineRequest;
import io.signalbox.admin.v1.Resource;
import io.signalbox.admin.v1.ResumePushesRequest;
import io.signalbox.admin.v1.Service;
import io.signalbox.admin.v1.UndrainInstanceRequest;
import io.signalbox.envoy.XdsTypes;
import io.signalbox.model.RouteSpec;
import io.signalbox.model.ServiceState;
import io.signalbox.security.Identity;
import io.signalbox.store.Quarantine;
import io.signalbox.store.RegisteredInstance;
import io.signalbox.store.RegistryAdmin;
import io.signalbox.store.RegistryStore;
import io.signalbox.translate.XdsJson;
import io.signalbox.xds.ContentVersionedSnapshot;
import io.signalbox.xds.ProxyStatusTracker;
import io.signalbox.xds.SnapshotHistory;
import io.signalbox.xds.SnapshotPublisher;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code signalbox.admin.v1.Admin} gRPC service: reads the proxy tracker, the published
 * snapshots and their history, and the registry; acts on the registry and the publisher. It never
 * builds Envoy resources itself.
 */
public final class AdminService extends AdminGrpc.AdminImplBase implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(AdminService.class);

  /**
   * A drain's grace period is for in-flight requests and connections, not for parking an instance
   * for days.
   */
  private static final Duration MAX_EVICT_AFTER = Duration.ofDays(1);

  /** Version prefixes shorter than this are too likely to be ambiguous to be useful. */
  private static final int MIN_VERSION_PREFIX = 4;

  private final RegistryStore store;
  private final RegistryAdmin registry;
  private final SnapshotPublisher publisher;
  private final ProxyStatusTracker proxies;
  private final SnapshotCache<String, Snapshot> cache;
  private final Runnable pushStateChanged;
  private final DrainEvictions evictions;

  /**
   * @param pushStateChanged called after pushes were paused or resumed (the admin server's health
   *     reflects it)
   */
  public AdminService(
      RegistryStore store,
      RegistryAdmin registry,
      SnapshotPublisher publisher,
      ProxyStatusTracker proxies,
      SnapshotCache<String, Snapshot> cache,
      Runnable pushStateChanged,
      java.time.Clock clock) {
    this.evictions = new DrainEvictions(registry, clock);
    this.store = store;
    this.registry = registry;
    this.publisher = publisher;
    this.proxies = proxies;
    this.cache = cache;
    this.pushStateChanged = pushStateChanged;
  }

  @Override
  public void listProxies(
      ListProxiesRequest request, StreamObserver<ListProxiesResponse> response) {
    answer(
        response,
        () -> {
          ListProxiesResponse.Builder answer =
              ListProxiesResponse.newBuilder().setPushes(pushState());
          proxies.proxies().stream()
              .filter(
                  proxy -> request.getGroup().isEmpty() || proxy.group().equals(request.getGroup()))
              .forEach(
                  proxy ->
                      answer.addProxies(
                          AdminProtos.proxy(proxy, publisher.certificateExpiry(proxy.group()))));
          proxies.recentCutOffs().stream()
              .filter(
                  stream ->
                      request.getGroup().isEmpty() || stream.group().equals(request.getGroup()))
              .forEach(stream -> answer.addCutOff(AdminProtos.cutOff(stream)));
          return answer.build();
        });
  }

  @Override
  public void getSnapshot(
      GetSnapshotRequest request, StreamObserver<GetSnapshotResponse> response) {
    answer(
        response,
        () -> {
          String group =
              switch (request.getTargetCase()) {
                case NODE_ID -> groupOfNode(request.getNodeId());
                case GROUP -> knownGroup(request.getGroup(), "group");
                case TARGET_NOT_SET -> throw invalid("node_id or group: one is required");
              };
          Optional<ResourceType> onlyType =
              request.getType().isEmpty()
                  ? Optional.empty()
                  : Optional.of(resourceType(request.getType(), "type"));
          ContentVersionedSnapshot snapshot = snapshotOf(group);
          GetSnapshotResponse.Builder answer =
              GetSnapshotResponse.newBuilder().setGroup(group).setVersion(snapshot.version());
          for (ResourceType type : XdsTypes.ALL) {
            answer.putTypeVersions(XdsTypes.shortName(type), snapshot.version(type));
            if (onlyType.isPresent() && onlyType.get() != type) {
              continue;
            }
            new TreeMap<>(snapshot.resources(XdsTypes.typeUrl(type)))
                .forEach(
                    (name, resource) -> {
                      if (request.getName().isEmpty() || request.getName().equals(name)) {
                        answer.addResources(resource(type, name, resource));
                      }
                    });
          }
          if (!request.getName().isEmpty() && answer.getResourcesCount() == 0) {
            throw notFound(
                "name: no "
                    + onlyType.map(XdsTypes::shortName).orElse("resource")
                    + " named '"
                    + request.getName()
                    + "' in the snapshot of group '"
                    + group
                    + "'");
          }
          return answer.build();
        });
  }

  @Override
  public void diffSnapshots(
      DiffSnapshotsRequest request, StreamObserver<DiffSnapshotsResponse> response) {
    answer(
        response,
        () -> {
          if (!request.getGroup().isEmpty()) {
            // Every group is sent the same snapshots; naming an unknown group is still a mistake
            // worth reporting.
            knownGroup(request.getGroup(), "group");
          }
          SnapshotHistory.Entry from = historyEntry(request.getFromVersion(), "from_version");
          SnapshotHistory.Entry to = historyEntry(request.getToVersion(), "to_version");
          return DiffSnapshotsResponse.newBuilder()
              .setFromVersion(from.version())
              .setToVersion(to.version())
              .addAllChanges(AdminProtos.changes(SnapshotHistory.diff(from, to)))
              .build();
        });
  }

  @Override
  public void history(HistoryRequest request, StreamObserver<HistoryResponse> response) {
    answer(
        response,
        () -> {
          if (request.getLimit() < 0) {
            throw invalid("limit: must not be negative, was " + request.getLimit());
          }
          SnapshotHistory history = publisher.history();
          int limit = request.getLimit() == 0 ? history.capacity() : request.getLimit();
          HistoryResponse.Builder answer = HistoryResponse.newBuilder();
          history
              .latest(limit)
              .forEach(entry -> answer.addEntries(AdminProtos.historyEntry(entry)));
          return answer.build();
        });
  }

  @Override
  public void listServices(
      ListServicesRequest request, StreamObserver<ListServicesResponse> response) {
    answer(
        response,
        () -> {
          ListServicesResponse.Builder answer = ListServicesResponse.newBuilder();
          instancesByService()
              .forEach((name, instances) -> answer.addServices(service(name, instances)));
          return answer.build();
        });
  }

  @Override
  public void getService(GetServiceRequest request, StreamObserver<Service> response) {
    answer(
        response,
        () -> {
          return serviceNamed(required(request.getService(), "service"));
        });
  }

  @Override
  public void drainInstance(DrainInstanceRequest request, StreamObserver<Instance> response) {
    answer(
        response,
        () -> {
          String service = required(request.getService(), "service");
          String instanceId = required(request.getInstanceId(), "instance_id");
          Duration evictAfter =
              request.hasEvictAfter()
                  ? AdminProtos.duration(request.getEvictAfter())
                  : Duration.ZERO;
          if (evictAfter.isNegative() || evictAfter.compareTo(MAX_EVICT_AFTER) > 0) {
            throw invalid(
                "evict_after: must be between 0 and "
                    + MAX_EVICT_AFTER.toHours()
                    + "h, was "
                    + evictAfter);
          }
          RegisteredInstance drained =
              registry.setDrained(service, instanceId, true, Identity.current().registrant());
          log.info(
              "Admin: drained instance {}/{}{}",
              service,
              instanceId,
              evictAfter.isZero() ? "" : "; evicting it in " + evictAfter);
          if (!evictAfter.isZero()) {
            evictions.schedule(drained, evictAfter);
          }
          return instance(drained);
        });
  }

  @Override
  public void undrainInstance(UndrainInstanceRequest request, StreamObserver<Instance> response) {
    answer(
        response,
        () -> {
          String service = required(request.getService(), "service");
          String instanceId = required(request.getInstanceId(), "instance_id");
          RegisteredInstance serving =
              registry.setDrained(service, instanceId, false, Identity.current().registrant());
          evictions.cancel(service, instanceId);
          log.info("Admin: undrained instance {}/{}", service, instanceId);
          return instance(serving);
        });
  }

  @Override
  public void evict(EvictRequest request, StreamObserver<EvictResponse> response) {
    answer(
        response,
        () -> {
          String service = required(request.getService(), "service");
          Optional<String> instanceId =
              request.getInstanceId().isEmpty()
                  ? Optional.empty()
                  : Optional.of(request.getInstanceId());
          List<String> evicted =
              registry.evict(service, instanceId, Identity.current().registrant());
          evicted.forEach(id -> evictions.cancel(service, id));
          log.info("Admin: evicted {} of service {}", evicted, service);
          return EvictResponse.newBuilder().addAllInstanceIds(evicted).build();
        });
  }

  @Override
  public void releaseQuarantine(
      ReleaseQuarantineRequest request, StreamObserver<Service> response) {
    answer(
        response,
        () -> {
          String service = required(request.getService(), "service");
          Optional<Quarantine> released = registry.releaseQuarantine(service);
          released.ifPresent(
              q ->
                  log.info("Admin: released service {} from quarantine ({})", service, q.reason()));
          return serviceNamed(service);
        });
  }

  @Override
  public void pausePushes(PausePushesRequest request, StreamObserver<PushState> response) {
    answer(
        response,
        () -> {
          publisher.pause();
          pushStateChanged.run();
          return pushState();
        });
  }

  @Override
  public void resumePushes(ResumePushesRequest request, StreamObserver<PushState> response) {
    answer(
        response,
        () -> {
          publisher.resume();
          pushStateChanged.run();
          return pushState();
        });
  }

  @Override
  public void getPushState(GetPushStateRequest request, StreamObserver<PushState> response) {
    answer(response, this::pushState);
  }

  @Override
  public void close() {
    evictions.close();
  }

  private PushState pushState() {
    PushState.Builder state = PushState.newBuilder();
    ContentVersionedSnapshot published = publisher.current();
    if (published != null) {
      state.setPublishedVersion(published.version());
    }
    publisher
        .pausedSince()
        .ifPresent(
            since ->
                state
                    .setPaused(true)
                    .setPausedSince(AdminProtos.timestamp(since))
                    .setChangesPending(publisher.changesPending()));
    return state.build();
  }

  private Service service(String name, List<RegisteredInstance> instances) {
    Service.Builder service =
        Service.newBuilder().setName(name).setStatus(RegistrationStatus.ACTIVE);
    Quarantine quarantine = registry.quarantined().get(name);
    if (quarantine != null) {
      service
          .setStatus(RegistrationStatus.QUARANTINED)
          .setStatusReason(quarantine.reason())
          .setStatusSince(AdminProtos.timestamp(quarantine.since()));
    }
    instances.forEach(instance -> service.addInstances(instance(instance)));
    ServiceState state = store.state().services().get(name);
    if (state != null) {
      service.setUpstreamProtocol(
          io.signalbox.registry.v1.UpstreamProtocol.valueOf(state.protocol().name()));
      for (RouteSpec route : state.routes()) {
        service.addRoutes(AdminProtos.route(state, route, publisher.settings()));
      }
    }
    return service.build();
  }

  private Instance instance(RegisteredInstance registered) {
    return AdminProtos.instance(registered, evictions.evictionOf(registered));
  }

  /** One registered service; NOT_FOUND when it has no live instance. */
  private Service serviceNamed(String name) {
    List<RegisteredInstance> instances =
        registry.registeredInstances().stream()
            .filter(instance -> instance.service().equals(name))
            .toList();
    if (instances.isEmpty()) {
      throw notFound("service '" + name + "' is not registered");
    }
    return service(name, instances);
  }

  private Map<String, List<RegisteredInstance>> instancesByService() {
    return registry.registeredInstances().stream()
        .collect(
            Collectors.groupingBy(RegisteredInstance::service, TreeMap::new, Collectors.toList()));
  }

  private String groupOfNode(String nodeId) {
    return proxies.proxies().stream()
        .filter(proxy -> proxy.nodeId().equals(nodeId))
        .reduce((first, later) -> later) // the newest connection
        .map(ProxyStatusTracker.ProxyStatus::group)
        .orElseThrow(() -> notFound("node '" + nodeId + "' is not connected"));
  }

  private String knownGroup(String group, String field) {
    if (group.isEmpty()) {
      throw invalid(field + ": required");
    }
    if (!publisher.groups().contains(group)) {
      throw notFound(
          "group '"
              + group
              + "' has no Envoy connected (known groups: "
              + (publisher.groups().isEmpty() ? "none" : String.join(", ", publisher.groups()))
              + ")");
    }
    return group;
  }

  private ContentVersionedSnapshot snapshotOf(String group) {
    if (cache.getSnapshot(group) instanceof ContentVersionedSnapshot snapshot) {
      return snapshot;
    }
    throw notFound("group '" + group + "' has no published snapshot yet");
  }

  private SnapshotHistory.Entry historyEntry(String version, String field) {
    required(version, field);
    SnapshotHistory history = publisher.history();
    Optional<SnapshotHistory.Entry> exact = history.find(version);
    if (exact.isPresent()) {
      return exact.get();
    }
    List<SnapshotHistory.Entry> matching =
        version.length() < MIN_VERSION_PREFIX
            ? List.of()
            : history.latest(history.capacity()).stream()
                .filter(e -> e.version().startsWith(version))
                .toList();
    if (matching.size() > 1) {
      throw invalid(
          field
              + ": '"
              + version
              + "' is the start of "
              + matching.size()
              + " versions; give more of it");
    }
    if (matching.isEmpty()) {
      throw notFound(
          field
              + ": version '"
              + version
              + "' is not in the history (the last "
              + history.capacity()
              + " published versions are kept)");
    }
    return matching.get(0);
  }

  private static Resource resource(ResourceType type, String name, VersionedResource<?> resource) {
    return Resource.newBuilder()
        .setType(XdsTypes.shortName(type))
        .setName(name)
        .setVersion(resource.version())
        .setJson(XdsJson.print(resource.resource()))
        .build();
  }

  private static ResourceType resourceType(String text, String field) {
    return XdsTypes.parse(text)
        .orElseThrow(
            () ->
                invalid(
                    field
                        + ": '"
                        + text
                        + "' is not one of "
                        + XdsTypes.ALL.stream()
                            .map(XdsTypes::shortName)
                            .collect(Collectors.joining(", "))));
  }
}
