package io.signalbox.registry;

import com.google.protobuf.util.Durations;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.signalbox.metrics.SignalboxMetrics;
import io.signalbox.metrics.SignalboxMetrics.RegistrationOutcome;
import io.signalbox.model.Registration;
import io.signalbox.registry.v1.DeregisterRequest;
import io.signalbox.registry.v1.DeregisterResponse;
import io.signalbox.registry.v1.KeepAliveRequest;
import io.signalbox.registry.v1.KeepAliveResponse;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.RegisterResponse;
import io.signalbox.registry.v1.RegistryGrpc;
import io.signalbox.registry.v1.ServingStatus;
import io.signalbox.registry.v1.SetServingStatusRequest;
import io.signalbox.registry.v1.SetServingStatusResponse;
import io.signalbox.security.AccessControl;
import io.signalbox.security.AccessPolicy;
import io.signalbox.security.AccessPolicy.ServiceGrant;
import io.signalbox.security.AuditLog;
import io.signalbox.security.Identity;
import io.signalbox.store.Lease;
import io.signalbox.store.NotLeaseOwnerException;
import io.signalbox.store.QuotaExceededException;
import io.signalbox.store.RegistryStore;
import io.signalbox.store.RouteConflictException;
import io.signalbox.store.StoreUnavailableException;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The {@code signalbox.registry.v1.Registry} gRPC service. */
public final class RegistryService extends RegistryGrpc.RegistryImplBase {

  private static final Logger log = LoggerFactory.getLogger(RegistryService.class);

  private final RegistryStore store;
  private final RegistrationValidator validator;
  private final SignalboxMetrics metrics;
  private final AccessControl access;
  private final AuditLog audit;

  /** A registry that authenticates nobody (plaintext) and audits to the log only. */
  public RegistryService(RegistryStore store, RegistrationValidator validator) {
    this(
        store,
        validator,
        SignalboxMetrics.noop(),
        AccessControl.plaintext(() -> AccessPolicy.DEFAULT),
        AuditLog.toLogger(java.time.Clock.systemUTC()));
  }

  public RegistryService(
      RegistryStore store,
      RegistrationValidator validator,
      SignalboxMetrics metrics,
      AccessControl access,
      AuditLog audit) {
    this.store = store;
    this.validator = validator;
    this.metrics = metrics;
    this.access = access;
    this.audit = audit;
  }

  @Override
  public void register(RegisterRequest request, StreamObserver<RegisterResponse> response) {
    Identity who = Identity.current();
    // The policy this registration is judged by; a reload may replace it before the registration
    // is stored (see below).
    AccessPolicy judgedBy = access.policy();
    String target =
        abbreviate(request.getService()) + "/" + abbreviate(request.getInstance().getId());
    // Authorization before validation: a caller that may not register the service learns nothing
    // about it.
    Optional<String> refusal = access.registrationRefusal(who, abbreviate(request.getService()));
    if (refusal.isPresent()) {
      refuse(response, who, target, RegistrationOutcome.PERMISSION_DENIED, refusal.get());
      return;
    }
    Registration registration;
    try {
      registration = validator.validate(request).withRegistrant(who.registrant());
    } catch (InvalidFieldException e) {
      refuse(response, who, target, RegistrationOutcome.INVALID_ARGUMENT, e.getMessage());
      return;
    } catch (HostResolutionUnavailableException e) {
      refuse(
          response,
          who,
          target,
          RegistrationOutcome.UNAVAILABLE,
          "instance.host: " + e.getMessage());
      return;
    }
    Optional<ServiceGrant> grant = access.grant(registration.service());
    registration =
        registration.withDelegatedPrefixes(grant.map(ServiceGrant::pathPrefixes).orElse(List.of()));
    Optional<String> outsideGrant = RouteGrants.refusal(registration, who, access);
    if (outsideGrant.isPresent()) {
      refuse(response, who, target, RegistrationOutcome.PERMISSION_DENIED, outsideGrant.get());
      return;
    }
    Lease lease;
    try {
      lease = store.register(registration, RegistrationValidator.requestedTtl(request));
    } catch (RouteConflictException | NotLeaseOwnerException | QuotaExceededException e) {
      refuse(response, who, target, outcomeOf(e), e.getMessage());
      return;
    } catch (StoreUnavailableException e) {
      metrics.registration(RegistrationOutcome.UNAVAILABLE);
      log.warn(
          "Registration of service '{}' not stored: {}", registration.service(), e.getMessage());
      audit.record(
          who, "register", target, AuditLog.Outcome.FAILED, "UNAVAILABLE: " + e.getMessage());
      response.onError(unavailable(e));
      return;
    }
    // A reload makes a new policy object: one comparison of references per registration.
    if (judgedBy != access.policy()) {
      // The operator changed the policy while this registration was judged, and the revocation
      // that followed may have judged the registry before it was stored: judge it again.
      Optional<String> revoked = AccessRevocation.refusal(access, registration);
      if (revoked.isPresent()) {
        try {
          store.deregister(lease.id(), registration.registrant());
        } catch (RuntimeException e) {
          log.error(
              "Registration of service '{}' refused by the access policy reloaded meanwhile, but"
                  + " not removed: {}",
              registration.service(),
              e.getMessage());
        }
        refuse(response, who, target, RegistrationOutcome.PERMISSION_DENIED, revoked.get());
        return;
      }
    }
    metrics.registration(RegistrationOutcome.OK);
    audit.record(who, "register", target, AuditLog.Outcome.OK, "");
    // Not the lease id: it is the instance's credential for renewing and deregistering.
    log.atInfo()
        .addKeyValue("service", registration.service())
        .addKeyValue("instance", registration.instance().id())
        .log(
            "Registered {}/{} at {}:{}",
            registration.service(),
            registration.instance().id(),
            registration.instance().address(),
            registration.instance().port());
    response.onNext(
        RegisterResponse.newBuilder()
            .setLeaseId(lease.id())
            .setTtl(Durations.fromNanos(lease.ttl().toNanos()))
            .build());
    response.onCompleted();
  }

  @Override
  public StreamObserver<KeepAliveRequest> keepAlive(StreamObserver<KeepAliveResponse> responses) {
    Identity caller = Identity.current();
    return new StreamObserver<>() {
      @Override
      public void onNext(KeepAliveRequest request) {
        Optional<Lease> lease;
        try {
          lease = store.renew(request.getLeaseId(), caller.registrant());
        } catch (NotLeaseOwnerException e) {
          // The stream ends: a client renewing another identity's lease is not a confused SDK but a
          // thief.
          audit.record(caller, "keepalive", "", AuditLog.Outcome.DENIED, e.getMessage());
          synchronized (responses) {
            responses.onError(
                Status.PERMISSION_DENIED.withDescription(e.getMessage()).asRuntimeException());
          }
          return;
        } catch (StoreUnavailableException e) {
          // Not LEASE_UNKNOWN: the lease may well be alive, and registering again would fail the
          // same way. The SDK
          // opens a new stream and renews again.
          synchronized (responses) {
            responses.onError(unavailable(e));
          }
          return;
        }
        KeepAliveResponse.Builder answer =
            KeepAliveResponse.newBuilder().setLeaseId(request.getLeaseId());
        if (lease.isPresent()) {
          answer
              .setStatus(KeepAliveResponse.Status.RENEWED)
              .setTtl(Durations.fromNanos(lease.get().ttl().toNanos()));
        } else {
          answer.setStatus(KeepAliveResponse.Status.LEASE_UNKNOWN);
        }
        synchronized (responses) {
          responses.onNext(answer.build());
        }
      }

      @Override
      public void onError(Throwable error) {
        // The client went away; its leases run out on their own unless it comes back.
      }

      @Override
      public void onCompleted() {
        synchronized (responses) {
          responses.onCompleted();
        }
      }
    };
  }

  @Override
  public void deregister(DeregisterRequest request, StreamObserver<DeregisterResponse> response) {
    Identity who = Identity.current();
    boolean deregistered;
    try {
      deregistered = store.deregister(request.getLeaseId(), who.registrant());
    } catch (NotLeaseOwnerException e) {
      audit.record(who, "deregister", "", AuditLog.Outcome.DENIED, e.getMessage());
      response.onError(
          Status.PERMISSION_DENIED.withDescription(e.getMessage()).asRuntimeException());
      return;
    } catch (StoreUnavailableException e) {
      audit.record(
          who, "deregister", "", AuditLog.Outcome.FAILED, "UNAVAILABLE: " + e.getMessage());
      response.onError(unavailable(e));
      return;
    }
    audit.record(
        who,
        "deregister",
        "",
        deregistered ? AuditLog.Outcome.OK : AuditLog.Outcome.REFUSED,
        deregistered ? "" : "lease unknown");
    if (!deregistered) {
      response.onError(
          Status.NOT_FOUND
              .withDescription(
                  "lease_id: lease '" + abbreviate(request.getLeaseId()) + "' is not known")
              .asRuntimeException());
      return;
    }
    response.onNext(DeregisterResponse.getDefaultInstance());
    response.onCompleted();
  }

  @Override
  public void setServingStatus(
      SetServingStatusRequest request, StreamObserver<SetServingStatusResponse> response) {
    Identity who = Identity.current();
    if (request.getStatus() != ServingStatus.SERVING
        && request.getStatus() != ServingStatus.NOT_SERVING) {
      response.onError(
          Status.INVALID_ARGUMENT
              .withDescription("status: must be SERVING or NOT_SERVING")
              .asRuntimeException());
      return;
    }
    boolean serving = request.getStatus() == ServingStatus.SERVING;
    boolean known;
    try {
      known = store.setServing(request.getLeaseId(), serving, who.registrant());
    } catch (NotLeaseOwnerException e) {
      audit.record(who, "set-serving-status", "", AuditLog.Outcome.DENIED, e.getMessage());
      response.onError(
          Status.PERMISSION_DENIED.withDescription(e.getMessage()).asRuntimeException());
      return;
    } catch (StoreUnavailableException e) {
      response.onError(unavailable(e));
      return;
    }
    if (!known) {
      response.onError(
          Status.NOT_FOUND
              .withDescription(
                  "lease_id: lease '" + abbreviate(request.getLeaseId()) + "' is not known")
              .asRuntimeException());
      return;
    }
    response.onNext(SetServingStatusResponse.getDefaultInstance());
    response.onCompleted();
  }

  /**
   * Answers with the gRPC status of the same name as {@code outcome}, logged, metered and audited.
   */
  private void refuse(
      StreamObserver<RegisterResponse> response,
      Identity who,
      String target,
      RegistrationOutcome outcome,
      String reason) {
    Status status = Status.fromCode(Status.Code.valueOf(outcome.name()));
    metrics.registration(outcome);
    int slash = target.indexOf('/');
    log.atInfo()
        .addKeyValue("service", target.substring(0, slash))
        .addKeyValue("instance", target.substring(slash + 1))
        .addKeyValue("identity", who.value())
        .log("Rejected registration of service '{}': {}", target.substring(0, slash), reason);
    audit.record(
        who,
        "register",
        target,
        outcome == RegistrationOutcome.PERMISSION_DENIED
            ? AuditLog.Outcome.DENIED
            : AuditLog.Outcome.REFUSED,
        status.getCode() + ": " + reason);
    response.onError(status.withDescription(reason).asRuntimeException());
  }

  /** How the store refused a registration, as the caller is told. */
  private static RegistrationOutcome outcomeOf(RuntimeException refusal) {
    if (refusal instanceof RouteConflictException) {
      return RegistrationOutcome.ALREADY_EXISTS;
    }
    return refusal instanceof QuotaExceededException
        ? RegistrationOutcome.RESOURCE_EXHAUSTED
        : RegistrationOutcome.PERMISSION_DENIED;
  }

  private static String abbreviate(String value) {
    return value.length() <= 64 ? value : value.substring(0, 61) + "...";
  }

  /** UNAVAILABLE: the SDK retries; nothing changed. */
  private static io.grpc.StatusRuntimeException unavailable(StoreUnavailableException e) {
    return Status.UNAVAILABLE
        .withDescription("the registry store is unavailable, try again: " + e.getMessage())
        .asRuntimeException();
  }
}
