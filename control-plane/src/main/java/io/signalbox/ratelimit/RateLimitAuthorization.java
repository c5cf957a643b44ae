package io.signalbox.ratelimit;

import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.signalbox.security.AccessControl;
import io.signalbox.security.AuditLog;
import io.signalbox.security.Identity;

/**
 * Only Envoys may ask the built-in rate-limit service ({@link AccessControl#mayAskRateLimits}): any
 * other caller on the shared gRPC port — a registered service, say — could spend the counter memory
 * or, with {@code hits_addend}, push another team's route over its limit. Runs inside {@link
 * io.signalbox.security.IdentityInterceptor}.
 */
public final class RateLimitAuthorization implements ServerInterceptor {

  private final AccessControl access;
  private final AuditLog audit;

  public RateLimitAuthorization(AccessControl access, AuditLog audit) {
    this.access = access;
    this.audit = audit;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    if (!RateLimitServiceGrpc.SERVICE_NAME.equals(call.getMethodDescriptor().getServiceName())) {
      return next.startCall(call, headers);
    }
    Identity who = Identity.current();
    if (!access.mayAskRateLimits(who)) {
      String reason =
          "identity '" + who + "' is not an Envoy and may not ask the rate-limit service";
      audit.record(who, "ratelimit", "ShouldRateLimit", AuditLog.Outcome.DENIED, reason);
      call.close(Status.PERMISSION_DENIED.withDescription(reason), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    return next.startCall(call, headers);
  }
}
