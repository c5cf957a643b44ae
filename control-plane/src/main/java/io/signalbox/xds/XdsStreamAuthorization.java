package io.signalbox.xds;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.signalbox.security.AccessControl;
import io.signalbox.security.AuditLog;
import io.signalbox.security.Identity;

/**
 * An Envoy may fetch only the configuration of node groups its certificate is allowed ({@link
 * AccessControl#mayFetch}). Every request of an ADS stream is checked before java-control-plane
 * sees it: a request whose {@code node.cluster} the caller may not fetch closes the stream with
 * PERMISSION_DENIED, so nothing is sent, no group is created for it and its ACKs and NACKs count
 * for nothing. A request whose node names no group Signalbox keeps ({@link NodeGroups#invalid}: a
 * zone, fleet or sidecar service beyond the bounds of a name) closes it with INVALID_ARGUMENT
 * naming the field, and one declaring a zone beyond the most kept at once, for its fleet or in all
 * ({@link KeptZones}), with RESOURCE_EXHAUSTED.
 *
 * <p>A stream's node is the one its first request names. Envoy may leave the node out of later
 * requests ({@code set_node_on_first_message_only}, which Signalbox's and Istio's bootstraps set):
 * such a request is passed on with the first request's node, so that it is authorized, grouped and
 * cached as the stream's (without it, a later request fell into the {@code default} group in the
 * cache while the stream's status stayed in its first group, or was refused as fetching {@code
 * default}). A later request naming another node id or group closes the stream with
 * INVALID_ARGUMENT: no Envoy moves its stream between groups. Every request is passed on with the
 * stream's node as kept: without the extensions Envoy lists ({@link #kept}). Runs inside {@link
 * io.signalbox.security.IdentityInterceptor}.
 */
public final class XdsStreamAuthorization implements ServerInterceptor {

  private final AccessControl access;
  private final AuditLog audit;
  private final ZoneAdmission zoneAdmission;
  private final NodeGroups groups = new NodeGroups();

  /**
   * @param zoneAdmission whether a stream's Envoy may declare a zone ({@link KeptZones}); a stream
   *     whose zone is not admitted is ended with RESOURCE_EXHAUSTED
   */
  public XdsStreamAuthorization(AccessControl access, AuditLog audit, ZoneAdmission zoneAdmission) {
    this.access = access;
    this.audit = audit;
    this.zoneAdmission = zoneAdmission;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    if (!AggregatedDiscoveryServiceGrpc.SERVICE_NAME.equals(
        call.getMethodDescriptor().getServiceName())) {
      return next.startCall(call, headers);
    }
    Identity who = Identity.current();
    ServerCall<Q, R> closedOnce = new ClosedOnce<>(call);
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(
        next.startCall(closedOnce, headers)) {
      private boolean closed;

      /** The node of the stream's first request, the group it names and that group's fleet. */
      private Node streamNode;

      private String streamGroup;

      private String streamFleet;

      /** Whether the stream's zone was admitted (checked once, on its first request). */
      private boolean zoneAdmitted;

      @Override
      public void onMessage(Q message) {
        if (closed) {
          return;
        }
        Node node = node(message);
        if (streamNode == null) {
          node = node == null ? Node.getDefaultInstance() : node;
          java.util.Optional<String> invalid = NodeGroups.invalid(node);
          if (invalid.isPresent()) {
            audit.record(who, "xds.stream", "node", AuditLog.Outcome.DENIED, invalid.get());
            refuse(Status.INVALID_ARGUMENT.withDescription(invalid.get()));
            return;
          }
          streamNode = kept(node);
          streamGroup = groups.hash(streamNode);
          streamFleet = NodeGroups.fleetOf(streamGroup);
          if (streamNode != node) {
            message = withNode(message, streamNode);
          }
        } else if (node == null) {
          message = withNode(message, streamNode);
        } else if (!node.getId().equals(streamNode.getId())
            || !groups.hash(node).equals(streamGroup)) {
          String reason =
              "node must name the same node id and group in every request of a stream (its first"
                  + " named node group '"
                  + abbreviate(streamGroup)
                  + "')";
          audit.record(who, "xds.stream", "node", AuditLog.Outcome.DENIED, reason);
          refuse(Status.INVALID_ARGUMENT.withDescription(reason));
          return;
        } else if (node.getExtensionsCount() != 0) {
          // The same Envoy's node again, with its extensions (sent with every request, Envoy's
          // default): served as the stream's, rather than held by what keeps the request. A node
          // without them is passed on as it came: no request made again for nothing.
          message = withNode(message, streamNode);
        }
        // Access rules name fleets: an Envoy allowed a fleet may fetch it in whichever zone it is.
        // Checked on every request, so rules reloaded meanwhile hold for open streams too.
        String group = streamFleet;
        if (!access.mayFetch(who, group)) {
          String reason =
              "identity '"
                  + who
                  + "' may not fetch the configuration of node group '"
                  + abbreviate(group)
                  + "'";
          audit.record(who, "xds.stream", abbreviate(group), AuditLog.Outcome.DENIED, reason);
          refuse(Status.PERMISSION_DENIED.withDescription(reason));
          return;
        }
        if (!zoneAdmitted) {
          // After the access check: a peer that may fetch nothing learns nothing of the zones.
          String zone = streamNode.getLocality().getZone();
          java.util.Optional<String> refused = zoneAdmission.admit(streamFleet, zone);
          if (refused.isPresent()) {
            audit.record(who, "xds.stream", "node", AuditLog.Outcome.REFUSED, refused.get());
            refuse(Status.RESOURCE_EXHAUSTED.withDescription(refused.get()));
            return;
          }
          zoneAdmitted = true;
          try {
            super.onMessage(message);
          } finally {
            // Its group is made now (and counts the zone), or the request failed.
            zoneAdmission.release(streamFleet, zone);
          }
          return;
        }
        super.onMessage(message);
      }

      /**
       * Ends the stream with {@code status}, and tells the server behind it that it ended: a call
       * the server closes itself ends without telling the server's stream observer, so a stream
       * refused after its first request kept its watches (answered into a closed call, which threw
       * out of a publication), its status and its place among the lagging streams.
       */
      private void refuse(Status status) {
        closed = true;
        closedOnce.close(status, new Metadata());
        super.onCancel();
      }

      @Override
      public void onCancel() {
        // Refused: the server behind was told already.
        if (!closed) {
          super.onCancel();
        }
      }

      @Override
      public void onHalfClose() {
        if (!closed) {
          super.onHalfClose();
        }
      }
    };
  }

  /**
   * The call as the server behind sees it: once closed (by a refusal), closing it again and sending
   * on it do nothing, so that the server's own clean-up after the refusal (it closes the call with
   * its error) does not throw.
   */
  private static final class ClosedOnce<Q, R>
      extends io.grpc.ForwardingServerCall.SimpleForwardingServerCall<Q, R> {
    private final java.util.concurrent.atomic.AtomicBoolean closed =
        new java.util.concurrent.atomic.AtomicBoolean();

    ClosedOnce(ServerCall<Q, R> call) {
      super(call);
    }

    @Override
    public void close(Status status, Metadata trailers) {
      if (closed.compareAndSet(false, true)) {
        super.close(status, trailers);
      }
    }

    @Override
    public void sendMessage(R message) {
      if (!closed.get()) {
        super.sendMessage(message);
      }
    }
  }

  /**
   * {@code node} as Signalbox keeps it: without the extensions Envoy lists (516 of them at 1.40, 61
   * KB; nothing here reads them), which every part that keeps a request would otherwise keep for
   * the stream's life, about 190 KB of heap per Envoy. The same object when it lists none.
   */
  private static Node kept(Node node) {
    return node.getExtensionsCount() == 0 ? node : node.toBuilder().clearExtensions().build();
  }

  /** The node a request names; null when it names none. */
  private static Node node(Object message) {
    if (message instanceof DiscoveryRequest request) {
      return request.hasNode() ? request.getNode() : null;
    }
    if (message instanceof DeltaDiscoveryRequest request) {
      return request.hasNode() ? request.getNode() : null;
    }
    return null;
  }

  /** {@code message} naming {@code node}, whether it named another or none. */
  @SuppressWarnings("unchecked")
  private static <Q> Q withNode(Q message, Node node) {
    if (message instanceof DiscoveryRequest request) {
      return (Q) request.toBuilder().setNode(node).build();
    }
    if (message instanceof DeltaDiscoveryRequest request) {
      return (Q) request.toBuilder().setNode(node).build();
    }
    return message;
  }

  private static String abbreviate(String value) {
    return value.length() <= 128 ? value : value.substring(0, 125) + "...";
  }
}
