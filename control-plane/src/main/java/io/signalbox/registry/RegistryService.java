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
import io.signalbox.store.Lease;
import io.signalbox.store.RegistryStore;
import io.signalbox.store.RouteConflictException;
import io.signalbox.store.StoreUnavailableException;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The {@code signalbox.registry.v1.Registry} gRPC service. */
public final class RegistryService extends RegistryGrpc.RegistryImplBase {

  private static final Logger log = LoggerFactory.getLogger(RegistryService.class);

  private final RegistryStore store;
  private final RegistrationValidator validator;
  private final SignalboxMetrics metrics;

  public RegistryService(RegistryStore store, RegistrationValidator validator) {
    this(store, validator, SignalboxMetrics.noop());
  }

  public RegistryService(RegistryStore store, RegistrationValidator validator, SignalboxMetrics metrics) {
    this.store = store;
    this.validator = validator;
    this.metrics = metrics;
  }

  @Override
  public void register(RegisterRequest request, StreamObserver<RegisterResponse> response) {
    Registration registration;
    try {
      registration = validator.validate(request);
    } catch (InvalidFieldException e) {
      metrics.registration(RegistrationOutcome.INVALID_ARGUMENT);
      log.atInfo().addKeyValue("service", abbreviate(request.getService()))
          .addKeyValue("instance", abbreviate(request.getInstance().getId()))
          .log("Rejected registration of service '{}': {}", abbreviate(request.getService()), e.getMessage());
      response.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
      return;
    }
    Lease lease;
    try {
      lease = store.register(registration, RegistrationValidator.requestedTtl(request));
    } catch (RouteConflictException e) {
      metrics.registration(RegistrationOutcome.ALREADY_EXISTS);
      log.atInfo().addKeyValue("service", registration.service())
          .addKeyValue("instance", registration.instance().id())
          .log("Rejected registration of service '{}': {}", registration.service(), e.getMessage());
      response.onError(Status.ALREADY_EXISTS.withDescription(e.getMessage()).asRuntimeException());
      return;
    } catch (StoreUnavailableException e) {
      metrics.registration(RegistrationOutcome.UNAVAILABLE);
      log.warn("Registration of service '{}' not stored: {}", registration.service(), e.getMessage());
      response.onError(unavailable(e));
      return;
    }
    metrics.registration(RegistrationOutcome.OK);
    // Not the lease id: it is the instance's credential for renewing and deregistering.
    log.atInfo().addKeyValue("service", registration.service())
        .addKeyValue("instance", registration.instance().id())
        .log("Registered {}/{} at {}:{}", registration.service(), registration.instance().id(),
            registration.instance().address(), registration.instance().port());
    response.onNext(RegisterResponse.newBuilder()
        .setLeaseId(lease.id())
        .setTtl(Durations.fromNanos(lease.ttl().toNanos()))
        .build());
    response.onCompleted();
  }

  @Override
  public StreamObserver<KeepAliveRequest> keepAlive(StreamObserver<KeepAliveResponse> responses) {
    return new StreamObserver<>() {
      @Override
      public void onNext(KeepAliveRequest request) {
        Optional<Lease> lease;
        try {
          lease = store.renew(request.getLeaseId());
        } catch (StoreUnavailableException e) {
          // Not LEASE_UNKNOWN: the lease may well be alive, and registering again would fail the same way. The SDK
          // opens a new stream and renews again.
          synchronized (responses) {
            responses.onError(unavailable(e));
          }
          return;
        }
        KeepAliveResponse.Builder answer = KeepAliveResponse.newBuilder().setLeaseId(request.getLeaseId());
        if (lease.isPresent()) {
          answer.setStatus(KeepAliveResponse.Status.RENEWED)
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
    boolean deregistered;
    try {
      deregistered = store.deregister(request.getLeaseId());
    } catch (StoreUnavailableException e) {
      response.onError(unavailable(e));
      return;
    }
    if (!deregistered) {
      response.onError(Status.NOT_FOUND
          .withDescription("lease_id: lease '" + abbreviate(request.getLeaseId()) + "' is not known")
          .asRuntimeException());
      return;
    }
    response.onNext(DeregisterResponse.getDefaultInstance());
    response.onCompleted();
  }

  private static String abbreviate(String value) {
    return value.length() <= 64 ? value : value.substring(0, 61) + "...";
  }

  /** UNAVAILABLE: the SDK retries; nothing changed. */
  private static io.grpc.StatusRuntimeException unavailable(StoreUnavailableException e) {
    return Status.UNAVAILABLE.withDescription("the registry store is unavailable, try again: " + e.getMessage())
        .asRuntimeException();
  }
}
