package io.signalbox.bench;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * One simulated Envoy on a state-of-the-world ADS stream ({@code StreamAggregatedResources}),
 * behaving like Envoy for CDS and EDS:
 *
 * <ul>
 *   <li>a wildcard CDS request (no names);
 *   <li>after every CDS response, an EDS request naming exactly the clusters it now holds, carrying
 *       the version and nonce of the last EDS response (as Envoy's ADS mux does), sent before the
 *       CDS ACK;
 *   <li>every response ACKed with its {@code version_info}, {@code response_nonce}, the node, the
 *       type and the names it asks for (none for CDS, its clusters for EDS).
 * </ul>
 *
 * <p>java-control-plane answers a SotW EDS request when the version of the requested names differs
 * from the request's {@code version_info} (which must therefore be the last version ACKed), when it
 * names a resource not sent yet, or when a CDS response went out since the last EDS response; a
 * request whose nonce is not that of the latest response of its type is ignored. Callbacks for one
 * stream run one at a time, so the state needs no locks.
 */
final class SotwXdsClient extends SimulatedEnvoy<DiscoveryRequest, DiscoveryResponse> {

  static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  static final String EDS = Resources.V3.ENDPOINT_TYPE_URL;

  /** Field 1 of both Cluster ({@code name}) and ClusterLoadAssignment ({@code cluster_name}). */
  private static final int NAME_TAG = (1 << 3) | WireFormat.WIRETYPE_LENGTH_DELIMITED;

  /** The clusters of the last CDS response, in name order: the EDS requests name them. */
  private Set<String> clusters = new TreeSet<>();

  private final Set<String> assignments = new HashSet<>();
  private String edsVersion = "";
  private String edsNonce = "";

  SotwXdsClient(
      int index,
      io.envoyproxy.envoy.config.core.v3.Node node,
      boolean nodeInFirstRequestOnly,
      Supplier<Round> currentRound) {
    super(index, node, nodeInFirstRequestOnly, currentRound);
  }

  @Override
  public void start(AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceStub stub) {
    stub.streamAggregatedResources(this);
    // Wildcard: no names.
    send(request(CDS, "", "", List.of()));
  }

  @Override
  protected void received(DiscoveryResponse response, long now) {
    String type = response.getTypeUrl();
    if (CDS.equals(type)) {
      // State of the world: the response holds every cluster.
      Set<String> held = new TreeSet<>();
      for (Any resource : response.getResourcesList()) {
        held.add(name(resource.getValue()));
      }
      clusters = held;
      assignments.retainAll(held);
      assignmentCount = assignments.size();
      // Like Envoy: ask for the clusters' endpoints (with the last EDS version and nonce), then ACK
      // the clusters.
      send(request(EDS, edsVersion, edsNonce, clusters));
      send(request(CDS, response.getVersionInfo(), response.getNonce(), List.of()));
    } else if (EDS.equals(type)) {
      Round round = currentRound.get();
      for (Any resource : response.getResourcesList()) {
        String name = name(resource.getValue());
        if (clusters.contains(name)) {
          assignments.add(name);
        }
        if (round != null && name.equals(round.cluster) && hasPort(resource, round.port)) {
          round.arrived(index, now);
        }
      }
      assignmentCount = assignments.size();
      edsVersion = response.getVersionInfo();
      edsNonce = response.getNonce();
      send(request(EDS, edsVersion, edsNonce, clusters));
    } else {
      send(request(type, response.getVersionInfo(), response.getNonce(), List.of()));
    }
  }

  /** The name (field 1) of a Cluster or ClusterLoadAssignment, without parsing the rest. */
  private static String name(ByteString resource) {
    try {
      CodedInputStream in = resource.newCodedInput();
      for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
        if (tag == NAME_TAG) {
          return in.readStringRequireUtf8();
        }
        in.skipField(tag);
      }
      return "";
    } catch (IOException e) {
      throw new UncheckedIOException("unreadable resource", e);
    }
  }

  private static boolean hasPort(Any resource, int port) {
    try {
      return Round.hasPort(resource.unpack(ClusterLoadAssignment.class), port);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("not a ClusterLoadAssignment: " + resource.getTypeUrl(), e);
    }
  }

  private DiscoveryRequest request(
      String type, String version, String nonce, Iterable<String> names) {
    return DiscoveryRequest.newBuilder()
        .setNode(node)
        .setTypeUrl(type)
        .setVersionInfo(version)
        .setResponseNonce(nonce)
        .addAllResourceNames(names)
        .build();
  }
}
