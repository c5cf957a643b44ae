package io.signalbox.bench;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * One simulated Envoy on a delta ADS stream, behaving like Envoy for CDS and EDS: a wildcard CDS
 * subscription; an EDS subscription to exactly the clusters CDS announced (java-control-plane
 * treats EDS on ADS as non-wildcard); every response ACKed with its nonce. Callbacks for one stream
 * run one at a time, so the state needs no locks.
 */
final class DeltaXdsClient extends SimulatedEnvoy<DeltaDiscoveryRequest, DeltaDiscoveryResponse> {

  static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  static final String EDS = Resources.V3.ENDPOINT_TYPE_URL;

  static final String RDS = Resources.V3.ROUTE_TYPE_URL;

  private final Set<String> clusters = new HashSet<>();
  private final Set<String> assignments = new HashSet<>();

  /** Whether this client also subscribes to the gateway's route configuration. */
  private final boolean routes;

  /**
   * With {@code routes}: also subscribed to the gateway's route configuration, as Envoy's RDS; with
   * {@code nodeInFirstRequestOnly}, as {@link SimulatedEnvoy} says.
   */
  DeltaXdsClient(
      int index,
      io.envoyproxy.envoy.config.core.v3.Node node,
      boolean nodeInFirstRequestOnly,
      Supplier<Round> currentRound,
      boolean routes) {
    super(index, node, nodeInFirstRequestOnly, currentRound);
    this.routes = routes;
  }

  @Override
  public void start(AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceStub stub) {
    stub.deltaAggregatedResources(this);
    // Wildcard: no names subscribed.
    send(DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(CDS).build());
    if (routes) {
      send(
          DeltaDiscoveryRequest.newBuilder()
              .setNode(node)
              .setTypeUrl(RDS)
              .addResourceNamesSubscribe(io.signalbox.translate.XdsNames.GATEWAY_ROUTES)
              .build());
    }
  }

  @Override
  protected void received(DeltaDiscoveryResponse response, long now) {
    String type = response.getTypeUrl();
    if (CDS.equals(type)) {
      List<String> added = new ArrayList<>();
      for (Resource resource : response.getResourcesList()) {
        if (clusters.add(resource.getName())) {
          added.add(resource.getName());
        }
      }
      List<String> removed = new ArrayList<>();
      for (String name : response.getRemovedResourcesList()) {
        if (clusters.remove(name)) {
          removed.add(name);
          assignments.remove(name);
        }
      }
      // Like Envoy: ask for the new clusters' endpoints, then ACK the clusters.
      if (!added.isEmpty() || !removed.isEmpty()) {
        send(
            DeltaDiscoveryRequest.newBuilder()
                .setNode(node)
                .setTypeUrl(EDS)
                .addAllResourceNamesSubscribe(added)
                .addAllResourceNamesUnsubscribe(removed)
                .build());
      }
      ack(type, response.getNonce());
    } else if (EDS.equals(type)) {
      Round round = currentRound.get();
      for (Resource resource : response.getResourcesList()) {
        assignments.add(resource.getName());
        if (round != null
            && resource.getName().equals(round.cluster)
            && hasPort(resource, round.port)) {
          round.arrived(index, now);
        }
      }
      response.getRemovedResourcesList().forEach(assignments::remove);
      assignmentCount = assignments.size();
      ack(type, response.getNonce());
    } else if (RDS.equals(type)) {
      Round round = currentRound.get();
      // Once arrived, a client's later pushes are not searched (on the channel's event loop).
      if (round != null && round.routePrefix != null && !round.hasArrived(index)) {
        for (Resource resource : response.getResourcesList()) {
          // The round's own prefix, not just a new version: a late push of an earlier round's
          // change must not count for this one.
          if (Round.holdsString(resource.getResource().getValue(), round.routePrefix)) {
            round.arrived(index, now);
            break;
          }
        }
      }
      ack(type, response.getNonce());
    } else {
      ack(type, response.getNonce());
    }
  }

  private static boolean hasPort(Resource resource, int port) {
    try {
      return Round.hasPort(resource.getResource().unpack(ClusterLoadAssignment.class), port);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("not a ClusterLoadAssignment: " + resource.getName(), e);
    }
  }

  private void ack(String type, String nonce) {
    send(
        DeltaDiscoveryRequest.newBuilder()
            .setNode(node)
            .setTypeUrl(type)
            .setResponseNonce(nonce)
            .build());
  }
}
