package io.signalbox.admin;

import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.TextFormat;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.signalbox.admin.v1.AdminGrpc;
import io.signalbox.security.AccessControl;
import io.signalbox.security.AdminRole;
import io.signalbox.security.AuditLog;
import io.signalbox.security.Identity;
import java.util.Map;

/**
 * Who may call which admin method: reads need {@link AdminRole#VIEWER}, changes {@link
 * AdminRole#OPERATOR}; a method not listed here needs {@code operator} (a new method is closed
 * until someone decides). Every admin call is recorded in the audit log with its caller and
 * outcome. Health and reflection are open to every authenticated peer. Runs inside {@link
 * io.signalbox.security.IdentityInterceptor}, which establishes the caller.
 */
final class AdminAuthorization implements ServerInterceptor {

  private static final Map<String, AdminRole> REQUIRED =
      Map.ofEntries(
          Map.entry("ListProxies", AdminRole.VIEWER),
          Map.entry("GetSnapshot", AdminRole.VIEWER),
          Map.entry("DiffSnapshots", AdminRole.VIEWER),
          Map.entry("ListServices", AdminRole.VIEWER),
          Map.entry("GetService", AdminRole.VIEWER),
          Map.entry("History", AdminRole.VIEWER),
          Map.entry("GetPushState", AdminRole.VIEWER),
          Map.entry("DrainInstance", AdminRole.OPERATOR),
          Map.entry("UndrainInstance", AdminRole.OPERATOR),
          Map.entry("Evict", AdminRole.OPERATOR),
          Map.entry("ReleaseQuarantine", AdminRole.OPERATOR),
          Map.entry("PausePushes", AdminRole.OPERATOR),
          Map.entry("ResumePushes", AdminRole.OPERATOR));

  /**
   * Enough of a request to say what it was about (service, instance, node); requests carry no
   * secrets.
   */
  private static final int MAX_TARGET_CHARS = 200;

  private final AccessControl access;
  private final AuditLog audit;

  AdminAuthorization(AccessControl access, AuditLog audit) {
    this.access = access;
    this.audit = audit;
  }

  static AdminRole requiredRole(String method) {
    return REQUIRED.getOrDefault(method, AdminRole.OPERATOR);
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    if (!AdminGrpc.SERVICE_NAME.equals(call.getMethodDescriptor().getServiceName())) {
      return next.startCall(call, headers);
    }
    String method = call.getMethodDescriptor().getBareMethodName();
    String action = "admin." + method;
    AdminRole required = requiredRole(method);
    Identity who = Identity.current();
    if (!access.hasRole(who, required)) {
      String reason =
          "identity '"
              + who
              + "' needs the admin role '"
              + required.label()
              + "' for "
              + method
              + access
                  .policy()
                  .role(who)
                  .map(held -> " (it has '" + held.label() + "')")
                  .orElse(" (it has none)");
      audit.record(who, action, "", AuditLog.Outcome.DENIED, reason);
      call.close(Status.PERMISSION_DENIED.withDescription(reason), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    StringBuilder target = new StringBuilder();
    ServerCall<Q, R> audited =
        new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
          @Override
          public void close(Status status, Metadata trailers) {
            audit.record(
                who,
                action,
                target.toString(),
                status.isOk() ? AuditLog.Outcome.OK : AuditLog.Outcome.FAILED,
                status.isOk()
                    ? ""
                    : status.getCode() + ": " + String.valueOf(status.getDescription()));
            super.close(status, trailers);
          }
        };
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(
        next.startCall(audited, headers)) {
      @Override
      public void onMessage(Q message) {
        if (target.length() == 0 && message instanceof MessageOrBuilder request) {
          String text = TextFormat.shortDebugString(request);
          target.append(
              text.length() <= MAX_TARGET_CHARS
                  ? text
                  : text.substring(0, MAX_TARGET_CHARS) + "...");
        }
        super.onMessage(message);
      }
    };
  }
}
