package io.signalbox.xds;

import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.SnapshotConsistencyException;
import io.envoyproxy.controlplane.cache.SnapshotResources;
import io.envoyproxy.controlplane.cache.VersionedResource;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.signalbox.translate.LocalZonePreference;
import io.signalbox.translate.XdsResources;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * A snapshot whose every resource is versioned by a hash of its content, and every type by a hash
 * of its resources' names and versions. (java-control-plane's own factories give all types one
 * version and resources their {@code hashCode()}, which differs between JVMs.)
 *
 * <p>For requests naming resources (SotW EDS and RDS), the version covers just the named ones, so
 * an Envoy is sent a ClusterLoadAssignment only when that assignment changed.
 */
public final class ContentVersionedSnapshot extends Snapshot {

  private final ContentVersionedResources<Cluster> clusters;
  private final ContentVersionedResources<ClusterLoadAssignment> endpoints;
  private final ContentVersionedResources<Listener> listeners;
  private final ContentVersionedResources<RouteConfiguration> routes;
  private final ContentVersionedResources<Secret> secrets;
  private final String version;
  private final XdsResources resources;

  /** Whether this is what one zone is sent of a fleet's snapshot ({@link #forGroup}). */
  private final boolean zoneView;

  /**
   * What each zone is sent of this snapshot, made on first use: every group of a zone shares it.
   */
  private final Map<String, ContentVersionedSnapshot> zoneViews = new ConcurrentHashMap<>();

  private ContentVersionedSnapshot(XdsResources resources, List<ContentVersionedSnapshot> reuse) {
    this(resources, reuse, false);
  }

  private ContentVersionedSnapshot(
      XdsResources resources, List<ContentVersionedSnapshot> reuse, boolean zoneView) {
    this.resources = resources;
    this.zoneView = zoneView;
    // A resource that is the same object as in an earlier snapshot (under the same name) takes its
    // version from there: with translation by difference, only changed resources are hashed.
    this.clusters =
        versioned(
            resources.clusters(), Cluster::getName, reuse.stream().map(e -> e.clusters).toList());
    this.endpoints =
        versioned(
            resources.endpoints(),
            ClusterLoadAssignment::getClusterName,
            reuse.stream().map(e -> e.endpoints).toList());
    this.listeners =
        versioned(
            resources.listeners(),
            Listener::getName,
            reuse.stream().map(e -> e.listeners).toList());
    this.routes =
        versioned(
            resources.routes(),
            RouteConfiguration::getName,
            reuse.stream().map(e -> e.routes).toList());
    this.secrets =
        versioned(
            resources.secrets(), Secret::getName, reuse.stream().map(e -> e.secrets).toList());
    SortedMap<String, String> typeVersions = new TreeMap<>();
    typeVersions.put("clusters", clusters.version());
    typeVersions.put("endpoints", endpoints.version());
    typeVersions.put("listeners", listeners.version());
    typeVersions.put("routes", routes.version());
    typeVersions.put("secrets", secrets.version());
    this.version = ContentHash.ofVersions(typeVersions);
  }

  public static ContentVersionedSnapshot of(XdsResources resources) {
    return new ContentVersionedSnapshot(resources, List.of());
  }

  /**
   * A snapshot of {@code resources} that takes the versions of resources it shares (as the same
   * objects) with {@code earlier} snapshots instead of hashing them again: staged changes are made
   * of two snapshots' resources.
   */
  public static ContentVersionedSnapshot of(
      XdsResources resources, ContentVersionedSnapshot... earlier) {
    return new ContentVersionedSnapshot(resources, List.of(earlier));
  }

  /**
   * What changed in {@code type} since {@code previous}. Found once per pair of the type's
   * resources, not of snapshots: the cache answers every group's watches with it and the history
   * records it, and the groups that share a type's resources (zones, sidecars that name no callees)
   * share its difference too.
   */
  @SuppressWarnings("unchecked")
  ResourceDiff changesSince(Snapshot previous, Resources.ResourceType type) {
    if (previous instanceof ContentVersionedSnapshot versioned) {
      return resourcesOf(type).changesSince(versioned.resourcesOf(type));
    }
    return ResourceDiff.between(
        previous == null
            ? Map.of()
            : (Map<String, VersionedResource<?>>) previous.versionedResources(type),
        (Map<String, VersionedResource<?>>) versionedResources(type));
  }

  private ContentVersionedResources<?> resourcesOf(Resources.ResourceType type) {
    return switch (type) {
      case CLUSTER -> clusters;
      case ENDPOINT -> endpoints;
      case LISTENER -> listeners;
      case ROUTE -> routes;
      case SECRET -> secrets;
    };
  }

  /**
   * What the Envoys of {@code group} are sent of this fleet-wide snapshot: the snapshot itself,
   * unless the group is a zone's ({@link NodeGroups}) and some service prefers the local zone; then
   * a snapshot with that zone's endpoints first ({@link LocalZonePreference}), which shares every
   * other resource, and its version, with this one.
   */
  public ContentVersionedSnapshot forGroup(String group) {
    if (zoneView || resources.localZoneClusters().isEmpty()) {
      return this;
    }
    return NodeGroups.zone(group)
        .map(
            zone ->
                zoneViews.computeIfAbsent(
                    zone,
                    z -> {
                      XdsResources seen = LocalZonePreference.forZone(resources, z);
                      return seen == resources
                          ? this
                          : new ContentVersionedSnapshot(seen, List.of(this), true);
                    }))
        .orElse(this);
  }

  /** The resources this snapshot was made of. */
  public XdsResources resources() {
    return resources;
  }

  /** A version of the whole snapshot: equal exactly when every type's version is equal. */
  public String version() {
    return version;
  }

  /**
   * Checks completeness with {@link SnapshotConsistency}: the inherited check finds a listener's
   * route configuration only under the HTTP connection manager's long-deprecated filter name, so it
   * rejects every modern listener.
   */
  @Override
  public void ensureConsistent() throws SnapshotConsistencyException {
    throwIfAny(SnapshotConsistency.problems(resources, endpoints.resources().keySet()));
  }

  /**
   * As {@link #ensureConsistent()}, knowing that {@code complete} (null: none) is. When this
   * snapshot has the very same listeners and the same names of route configurations and secrets,
   * completeness depends on the clusters and assignments only: with the very same clusters and the
   * same names of assignments there is nothing to check again (an instance or a route change at
   * 10,000 services: the check walked every cluster, 0.6-1.8 ms), and with no assignment gone only
   * the clusters added or changed need theirs (a new service: the check looked up every cluster's).
   */
  public void ensureConsistentAfter(ContentVersionedSnapshot complete)
      throws SnapshotConsistencyException {
    if (complete != null
        && listeners == complete.listeners
        && routes.sameNames(complete.routes)
        && secrets.sameNames(complete.secrets)) {
      if (clusters == complete.clusters && endpoints.sameNames(complete.endpoints)) {
        return;
      }
      if (endpoints.changesSince(complete.endpoints).removed().isEmpty()) {
        ResourceDiff changedClusters = clusters.changesSince(complete.clusters);
        List<Cluster> toCheck = new ArrayList<>();
        for (List<String> names : List.of(changedClusters.added(), changedClusters.modified())) {
          names.forEach(name -> toCheck.add(clusters.resources().get(name)));
        }
        throwIfAny(SnapshotConsistency.clusterProblems(toCheck, endpoints.resources().keySet()));
        return;
      }
    }
    ensureConsistent();
  }

  private static void throwIfAny(List<String> problems) throws SnapshotConsistencyException {
    if (!problems.isEmpty()) {
      throw new SnapshotConsistencyException(String.join("; ", problems));
    }
  }

  /**
   * Re-declared only because javac does not see the parent's override (its wildcard differs from
   * the grandparent's); the behaviour is the parent's.
   */
  @Override
  @SuppressWarnings({"unchecked", "rawtypes"})
  public Map versionedResources(Resources.ResourceType type) {
    return super.versionedResources(type);
  }

  @Override
  public SnapshotResources<Cluster> clusters() {
    return clusters;
  }

  @Override
  public SnapshotResources<ClusterLoadAssignment> endpoints() {
    return endpoints;
  }

  @Override
  public SnapshotResources<Listener> listeners() {
    return listeners;
  }

  @Override
  public SnapshotResources<RouteConfiguration> routes() {
    return routes;
  }

  @Override
  public SnapshotResources<Secret> secrets() {
    return secrets;
  }

  private static <T extends Message> ContentVersionedResources<T> versioned(
      List<T> resources, Function<T, String> name, List<ContentVersionedResources<T>> earlier) {
    return ContentVersionedResources.of(resources, name, earlier);
  }
}
