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
 * naming the field. Runs inside {@link io.signalbox.security.IdentityInterceptor}.
 */
public final class XdsStreamAuthorization implements ServerInterceptor {

  private final AccessControl access;
  private final AuditLog audit;
  private final NodeGroups groups = new NodeGroups();

  public XdsStreamAuthorization(AccessControl access, AuditLog audit) {
    this.access = access;
    this.audit = audit;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    if (!AggregatedDiscoveryServiceGrpc.SERVICE_NAME.equals(
        call.getMethodDescriptor().getServiceName())) {
      return next.startCall(call, headers);
    }
    Identity who = Identity.current();
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(
        next.startCall(call, headers)) {
      private boolean closed;

      @Override
      public void onMessage(Q message) {
        if (closed) {
          return;
        }
        Node node = node(message);
        java.util.Optional<String> invalid = NodeGroups.invalid(node);
        if (invalid.isPresent()) {
          closed = true;
          audit.record(who, "xds.stream", "node", AuditLog.Outcome.DENIED, invalid.get());
          call.close(Status.INVALID_ARGUMENT.withDescription(invalid.get()), new Metadata());
          return;
        }
        // Access rules name fleets: an Envoy allowed a fleet may fetch it in whichever zone it is.
        String group = groups.fleet(node);
        if (!access.mayFetch(who, group)) {
          closed = true;
          String reason =
              "identity '"
                  + who
                  + "' may not fetch the configuration of node group '"
                  + abbreviate(group)
                  + "'";
          audit.record(who, "xds.stream", abbreviate(group), AuditLog.Outcome.DENIED, reason);
          call.close(Status.PERMISSION_DENIED.withDescription(reason), new Metadata());
          return;
        }
        super.onMessage(message);
      }

      @Override
      public void onHalfClose() {
        if (!closed) {
          super.onHalfClose();
        }
      }
    };
  }

  private static Node node(Object message) {
    if (message instanceof DiscoveryRequest request) {
      return request.getNode();
    }
    if (message instanceof DeltaDiscoveryRequest request) {
      return request.getNode();
    }
    return Node.getDefaultInstance();
  }

  private static String abbreviate(String value) {
    return value.length() <= 128 ? value : value.substring(0, 125) + "...";
  }
}
