package io.signalbox.xds;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.controlplane.cache.Response;
import io.envoyproxy.controlplane.cache.XdsRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * State-of-the-world endpoints by difference: an EDS response to an Envoy carries only the
 * ClusterLoadAssignments it does not hold as they are now, not every one it asks for.
 *
 * <p>The xDS protocol lets it: only Listener and Cluster responses are the whole state of the
 * world; a ClusterLoadAssignment left out of an EDS response is neither changed nor removed, and
 * Envoy hands each of its EDS clusters only its own assignment (an EDS cluster whose assignment is
 * not in a response is not touched). An Envoy sent every assignment on every change instead rebuilt
 * the hosts of every cluster: 8 ms at 300 clusters of the 15 ms from registering a service to its
 * first 200, and about 27 µs per cluster more as the registry grows.
 *
 * <p>What an Envoy holds is read from its request: versions are content hashes of the requested
 * names' assignments, so the version it acknowledges names one content, whichever replica or stream
 * sent it. The assignments of each version sent recently are kept; a request acknowledging a
 * version not kept (another replica's, an old one) or rejecting one (Envoy may have applied part of
 * it) is answered in full.
 *
 * <p>One more reason to send an unchanged assignment: a Cluster that changed is made anew in Envoy
 * and waits, warming, for its assignment again. So the names of the clusters each CDS response
 * changed, compared with the one sent before it to the same node, are sent with the node's next EDS
 * response too (a node whose previous CDS response is not known gets that one in full).
 */
final class SotwEndpointDifferences {

  /** How many EDS versions' assignments are kept; a fleet acknowledges a handful at a time. */
  private static final int VERSIONS_KEPT = 32;

  /** How many nodes' cluster changes are followed. */
  private static final int NODES_KEPT = 100_000;

  /**
   * What an Envoy holds once it accepted an EDS version: the names asked for, their assignments.
   */
  private record Held(Set<String> names, Map<String, Message> assignments) {}

  /**
   * Per node: the version of the CDS response sent last, and the clusters changed by CDS responses
   * since its last EDS response (null: not known, so the next EDS response is sent in full).
   * Guarded by itself.
   */
  private static final class NodeClusters {
    String lastClusterVersion;
    Set<String> remade;
  }

  private final Cache<String, Held> heldByVersion =
      CacheBuilder.newBuilder().maximumSize(VERSIONS_KEPT).build();

  private final Cache<String, Map<String, Message>> clustersByVersion =
      CacheBuilder.newBuilder().maximumSize(VERSIONS_KEPT).build();

  /** The names changed from one version to another, by the pair of versions. */
  private final Cache<String, Set<String>> changes =
      CacheBuilder.newBuilder().maximumSize(VERSIONS_KEPT).build();

  /**
   * Nodes come and go without telling the cache: a node quiet for an hour, or pushed out by more
   * nodes than a fleet has, starts over with a full response (never a wrong one).
   */
  private final Cache<String, NodeClusters> nodes =
      CacheBuilder.newBuilder()
          .expireAfterAccess(Duration.ofHours(1))
          .maximumSize(NODES_KEPT)
          .build();

  /** Whether responses to {@code request} go through here: SotW ADS CDS, and EDS by name. */
  static boolean applies(boolean ads, XdsRequest request) {
    return ads
        && (request.getResourceType() == ResourceType.CLUSTER
            || request.getResourceType() == ResourceType.ENDPOINT
                && !request.getResourceNamesList().isEmpty());
  }

  /**
   * The names the Envoy holds, for the cache's decision to answer at once: the names of the version
   * it acknowledges when that is known (java-control-plane counts only the names of the last
   * response, which here may be a few), else {@code known}.
   */
  Set<String> knownNames(XdsRequest request, Set<String> known) {
    Held held = held(request);
    return held == null ? known : held.names();
  }

  /**
   * What is sent for {@code request} goes to {@code send} as this class decides. A node's state
   * changes and its response is handed on under one lock, so that its CDS and EDS responses leave
   * in the order the state saw them (a changed cluster's assignment must follow the cluster).
   */
  Consumer<Response> responses(XdsRequest request, Consumer<Response> send) {
    String node = request.v3Request().getNode().getId();
    if (request.getResourceType() == ResourceType.CLUSTER) {
      return response -> {
        NodeClusters state = node(node);
        synchronized (state) {
          clustersSent(state, response);
          send.accept(response);
        }
      };
    }
    Held held = held(request);
    return response -> {
      NodeClusters state = node(node);
      synchronized (state) {
        send.accept(endpointsFor(state, held, response));
      }
    };
  }

  private Held held(XdsRequest request) {
    if (request.getResourceType() != ResourceType.ENDPOINT
        || request.hasErrorDetail()
        || request.getVersionInfo().isEmpty()) {
      return null;
    }
    return heldByVersion.getIfPresent(request.getVersionInfo());
  }

  private void clustersSent(NodeClusters state, Response response) {
    String version = response.version();
    if (clustersByVersion.getIfPresent(version) == null) {
      clustersByVersion.put(version, resourcesByName(response.resources()));
    }
    Map<String, Message> before =
        state.lastClusterVersion == null
            ? null
            : clustersByVersion.getIfPresent(state.lastClusterVersion);
    if (before == null) {
      state.remade = null;
    } else if (state.remade != null && !state.lastClusterVersion.equals(version)) {
      state.remade.addAll(changedNames(state.lastClusterVersion, before, version, response));
    }
    state.lastClusterVersion = version;
  }

  private Response endpointsFor(NodeClusters state, Held held, Response response) {
    String version = response.version();
    if (heldByVersion.getIfPresent(version) == null) {
      heldByVersion.put(
          version,
          new Held(
              Set.copyOf(response.request().getResourceNamesList()),
              resourcesByName(response.resources())));
    }
    Set<String> remade = state.remade;
    // From here the node holds every assignment it asked for, as of this response.
    state.remade = state.lastClusterVersion == null ? null : new HashSet<>();
    if (held == null || remade == null) {
      return response;
    }
    Set<String> send =
        new HashSet<>(
            changedNames(
                response.request().getVersionInfo(), held.assignments(), version, response));
    send.addAll(remade);
    List<Message> assignments = new ArrayList<>(send.size());
    for (Message assignment : response.resources()) {
      if (send.contains(Resources.getResourceName(assignment))) {
        assignments.add(assignment);
      }
    }
    return assignments.size() == response.resources().size()
        ? response
        : Response.create(response.request(), assignments, version);
  }

  /**
   * The names of {@code response}'s resources that {@code before} (sent as {@code beforeVersion})
   * does not hold as they are: found once per pair of versions, which a fleet shares.
   */
  private Set<String> changedNames(
      String beforeVersion, Map<String, Message> before, String version, Response response) {
    String pair = response.request().getTypeUrl() + " " + beforeVersion + " " + version;
    Set<String> known = changes.getIfPresent(pair);
    if (known != null) {
      return known;
    }
    Set<String> changed = new HashSet<>();
    for (Message resource : response.resources()) {
      String name = Resources.getResourceName(resource);
      if (!same(before.get(name), resource)) {
        changed.add(name);
      }
    }
    Set<String> found = Set.copyOf(changed);
    changes.put(pair, found);
    return found;
  }

  private NodeClusters node(String node) {
    try {
      return nodes.get(node, NodeClusters::new);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    }
  }

  private static Map<String, Message> resourcesByName(
      java.util.Collection<? extends Message> resources) {
    Map<String, Message> byName = new HashMap<>(resources.size() * 2);
    for (Message resource : resources) {
      byName.put(Resources.getResourceName(resource), resource);
    }
    return byName;
  }

  /** Unchanged: the same object (translation by difference keeps them), or equal content. */
  private static boolean same(Message before, Message now) {
    return before == now || before != null && before.equals(now);
  }
}
