package io.signalbox.client;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import io.signalbox.registry.v1.DeregisterRequest;
import io.signalbox.registry.v1.DeregisterResponse;
import io.signalbox.registry.v1.KeepAliveRequest;
import io.signalbox.registry.v1.KeepAliveResponse;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.RegisterResponse;
import io.signalbox.registry.v1.ServingStatus;
import io.signalbox.registry.v1.SetServingStatusRequest;
import io.signalbox.registry.v1.SetServingStatusResponse;
import java.time.Duration;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one instance's lease alive over the KeepAlive stream, and registers again whenever the
 * lease is lost: the server answers LEASE_UNKNOWN (it expired, or a restarted control plane never
 * knew it), or nothing is heard for a whole TTL. A broken stream is reopened with backoff and the
 * lease sent at once, so that a restarted control plane either renews it or asks for a new
 * registration.
 *
 * <p>All mutable state except {@link #lease} and {@link #stopped} is confined to the client's
 * scheduler thread; gRPC callbacks hop onto it, so the only lock guards swapping those two against
 * a concurrent close.
 */
final class LeaseKeeper {

  private static final Logger log = LoggerFactory.getLogger(LeaseKeeper.class);

  /**
   * Bounds one background Register; a control plane that accepts connections but never answers must
   * not stall.
   */
  private static final Duration REGISTER_ATTEMPT_TIMEOUT = Duration.ofSeconds(5);

  /**
   * Deregistering is a courtesy on the way out: the lease expires by itself anyway, so do not hold
   * up shutdown.
   */
  private static final Duration DEREGISTER_TIMEOUT = Duration.ofSeconds(2);

  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(1);

  private final ServiceRegistration registration;
  private final RegisterRequest request;
  private final ClientContext client;
  private final RegistrationListener listener;
  private final Backoff backoff;

  // Swapped together under this monitor, so that stopping never misses a lease granted at the same
  // moment.
  private volatile Lease lease;
  private volatile boolean stopped;

  /** What the instance last reported of itself; a new lease is told again when NOT_SERVING. */
  private volatile boolean serving = true;

  private @Nullable KeepAliveStream stream;
  private @Nullable Future<?> ticker;
  private @Nullable Future<?> pendingReconnect;
  private @Nullable Future<?> pendingRegister;
  private boolean reregistering;
  private boolean connectionLost;
  private long lastHeardNanos;

  LeaseKeeper(
      ServiceRegistration registration,
      Lease lease,
      ClientContext client,
      RegistrationListener listener) {
    this.registration = registration;
    this.request = registration.toRequest();
    this.lease = lease;
    this.client = client;
    this.listener = listener;
    this.backoff = client.backoffPolicy().newBackoff();
  }

  Lease lease() {
    return lease;
  }

  boolean isStopped() {
    return stopped;
  }

  void start() {
    client
        .scheduler()
        .execute(
            () -> {
              if (stopped) {
                return;
              }
              lastHeardNanos = System.nanoTime();
              openStream();
              scheduleTicks();
            });
  }

  /**
   * Stops the background work and deregisters the current lease (best effort, bounded by a short
   * deadline). Returns false when it had already been stopped.
   */
  boolean stopAndDeregister() {
    Lease last;
    synchronized (this) {
      if (stopped) {
        return false;
      }
      stopped = true;
      last = lease;
    }
    client.scheduler().runAndWait(this::cancelAll, STOP_TIMEOUT);
    try {
      client
          .blocking()
          .withDeadlineAfter(DEREGISTER_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
          .deregister(DeregisterRequest.newBuilder().setLeaseId(last.id()).build());
      log.info("{}: deregistered (lease {})", registration, last.fingerprint());
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() == Status.Code.NOT_FOUND) {
        log.info("{}: lease {} was already gone", registration, last.fingerprint());
      } else {
        log.warn(
            "{}: could not deregister lease {} ({}); it expires within {} ms",
            registration,
            last.fingerprint(),
            Statuses.describe(e.getStatus()),
            last.ttl().toMillis());
      }
    }
    return true;
  }

  private void cancelAll() {
    cancel(ticker);
    cancel(pendingReconnect);
    cancel(pendingRegister);
    if (stream != null) {
      stream.cancel();
      stream = null;
    }
  }

  private void scheduleTicks() {
    cancel(ticker);
    ticker = client.scheduler().scheduleAtFixedRate(this::tick, lease.keepAliveInterval());
  }

  private void tick() {
    if (stopped || reregistering || stream == null) {
      return;
    }
    Duration silence = Duration.ofNanos(System.nanoTime() - lastHeardNanos);
    if (silence.compareTo(lease.ttl()) >= 0) {
      log.warn(
          "{}: no keep-alive answer for {} ms, a whole TTL; assuming lease {} is gone",
          registration,
          silence.toMillis(),
          lease.fingerprint());
      // The stream may be half-open: replace it once registered again.
      stream.cancel();
      stream = null;
      reregister();
      return;
    }
    stream.send(lease.id());
  }

  private void openStream() {
    KeepAliveStream opened = new KeepAliveStream();
    try {
      client.async().keepAlive(opened);
    } catch (RuntimeException e) {
      // Seen from grpc-java when a stream starts while the server shuts down: it must not end the
      // keep-alive
      // for good (the instance would never renew or register again), so it counts as a closed
      // stream.
      onStreamClosed(
          Status.UNAVAILABLE.withDescription("could not open the keep-alive stream").withCause(e));
      return;
    }
    stream = opened;
  }

  private void onResponse(KeepAliveResponse response) {
    lastHeardNanos = System.nanoTime();
    backoff.reset();
    if (connectionLost) {
      connectionLost = false;
      log.info("{}: keep-alive stream re-established", registration);
    }
    switch (response.getStatus()) {
      case RENEWED -> log.trace("{}: {} renewed", registration, lease);
      case LEASE_UNKNOWN -> {
        if (!reregistering && isCurrentLease(response.getLeaseId())) {
          log.info(
              "{}: control plane does not know lease {}; registering again",
              registration,
              lease.fingerprint());
          reregister();
        }
      }
      default ->
          log.debug("{}: ignoring keep-alive response {}", registration, response.getStatus());
    }
  }

  /**
   * An answer about an older lease (sent just before re-registering) must not trigger yet another
   * Register.
   */
  private boolean isCurrentLease(String leaseId) {
    return leaseId.isEmpty() || leaseId.equals(lease.id());
  }

  private void onStreamClosed(Status status) {
    stream = null;
    if (stopped) {
      return;
    }
    Duration delay = backoff.next();
    if (connectionLost) {
      log.debug(
          "{}: keep-alive stream still down ({}); retrying in {} ms",
          registration,
          Statuses.describe(status),
          delay.toMillis());
    } else {
      connectionLost = true;
      log.warn(
          "{}: keep-alive stream closed ({}); reconnecting in {} ms",
          registration,
          Statuses.describe(status),
          delay.toMillis());
    }
    pendingReconnect = client.scheduler().schedule(this::reconnect, delay);
  }

  private void reconnect() {
    if (stopped || stream != null) {
      return;
    }
    // The channel may sit in its own, much longer, reconnect backoff; our schedule is the one that
    // counts.
    client.channel().resetConnectBackoff();
    lastHeardNanos = System.nanoTime();
    openStream();
    if (!reregistering) {
      stream.send(lease.id());
    }
  }

  private void reregister() {
    reregistering = true;
    attemptRegister();
  }

  private void attemptRegister() {
    if (stopped) {
      return;
    }
    client.channel().resetConnectBackoff();
    client
        .async()
        .withDeadlineAfter(REGISTER_ATTEMPT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
        .register(
            request,
            new StreamObserver<>() {
              @Override
              public void onNext(RegisterResponse response) {
                client.scheduler().execute(() -> onRegistered(Lease.from(response)));
              }

              @Override
              public void onError(Throwable error) {
                client.scheduler().execute(() -> onRegisterFailed(Status.fromThrowable(error)));
              }

              @Override
              public void onCompleted() {}
            });
  }

  private void onRegistered(Lease granted) {
    Lease previous;
    boolean accepted;
    synchronized (this) {
      previous = lease;
      accepted = !stopped;
      if (accepted) {
        lease = granted;
      }
    }
    if (!accepted) {
      // Closed while this Register was in flight: the new lease must not linger until it expires.
      deregisterInBackground(granted);
      return;
    }
    reregistering = false;
    lastHeardNanos = System.nanoTime();
    backoff.reset();
    if (!granted.ttl().equals(previous.ttl())) {
      scheduleTicks();
    }
    if (stream == null && isDone(pendingReconnect)) {
      openStream();
    }
    if (!serving) {
      reportNotServingInBackground(granted);
    }
    log.info(
        "{}: registered again with lease {} (was {})",
        registration,
        granted.fingerprint(),
        previous.fingerprint());
    notifyListener(l -> l.onReregistered(previous.id(), granted.id()));
  }

  private void onRegisterFailed(Status status) {
    if (stopped) {
      return;
    }
    Duration delay = backoff.next();
    if (status.getCode() == Status.Code.UNAVAILABLE
        || status.getCode() == Status.Code.DEADLINE_EXCEEDED) {
      log.warn(
          "{}: registering again failed ({}); retrying in {} ms",
          registration,
          Statuses.describe(status),
          delay.toMillis());
    } else {
      // The control plane rejected what it accepted before (e.g. another service took a route
      // meanwhile):
      // keep trying, since the conflict may clear, but make it stand out.
      log.error(
          "{}: control plane rejected the registration ({}); retrying in {} ms",
          registration,
          Statuses.describe(status),
          delay.toMillis());
    }
    notifyListener(l -> l.onReregistrationFailed(status));
    pendingRegister = client.scheduler().schedule(this::attemptRegister, delay);
  }

  /**
   * Reports the instance's own health on the current lease and waits for the answer (at most a few
   * seconds). A lease the control plane lost is not an error: the re-registration that follows
   * reports the status again.
   *
   * @throws RegistrationException when the control plane cannot be told
   */
  void setServing(boolean nowServing) {
    serving = nowServing;
    Lease current = lease;
    try {
      client
          .blocking()
          .withDeadlineAfter(REGISTER_ATTEMPT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
          .setServingStatus(servingStatus(current, nowServing));
      log.info("{}: reported {}", registration, nowServing ? "SERVING" : "NOT_SERVING");
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() != Status.Code.NOT_FOUND) {
        throw new RegistrationException(
            registration
                + ": could not report the serving status: "
                + Statuses.describe(e.getStatus()),
            e.getStatus(),
            e);
      }
    }
  }

  private static SetServingStatusRequest servingStatus(Lease lease, boolean serving) {
    return SetServingStatusRequest.newBuilder()
        .setLeaseId(lease.id())
        .setStatus(serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING)
        .build();
  }

  /** A new lease starts SERVING: an instance that reported NOT_SERVING says so again. */
  private void reportNotServingInBackground(Lease granted) {
    client
        .async()
        .withDeadlineAfter(REGISTER_ATTEMPT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
        .setServingStatus(
            servingStatus(granted, false),
            new StreamObserver<>() {
              @Override
              public void onNext(SetServingStatusResponse response) {}

              @Override
              public void onError(Throwable error) {
                log.warn(
                    "{}: could not report NOT_SERVING on lease {} ({})",
                    registration,
                    granted.fingerprint(),
                    Statuses.describe(Status.fromThrowable(error)));
              }

              @Override
              public void onCompleted() {}
            });
  }

  private void deregisterInBackground(Lease orphan) {
    client
        .async()
        .withDeadlineAfter(DEREGISTER_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
        .deregister(
            DeregisterRequest.newBuilder().setLeaseId(orphan.id()).build(),
            new StreamObserver<>() {
              @Override
              public void onNext(DeregisterResponse response) {
                log.info(
                    "{}: deregistered lease {} granted after close",
                    registration,
                    orphan.fingerprint());
              }

              @Override
              public void onError(Throwable error) {
                log.debug(
                    "{}: could not deregister lease {} granted after close ({})",
                    registration,
                    orphan.fingerprint(),
                    Statuses.describe(Status.fromThrowable(error)));
              }

              @Override
              public void onCompleted() {}
            });
  }

  private void notifyListener(Consumer<RegistrationListener> event) {
    try {
      event.accept(listener);
    } catch (RuntimeException e) {
      log.warn("{}: registration listener failed", registration, e);
    }
  }

  private static void cancel(@Nullable Future<?> task) {
    if (task != null) {
      task.cancel(false);
    }
  }

  private static boolean isDone(@Nullable Future<?> task) {
    return task == null || task.isDone();
  }

  /**
   * One KeepAlive call. Its callbacks hop onto the scheduler and are dropped once another stream
   * replaced it.
   */
  private final class KeepAliveStream
      implements ClientResponseObserver<KeepAliveRequest, KeepAliveResponse> {

    private ClientCallStreamObserver<KeepAliveRequest> requests;

    @Override
    public void beforeStart(ClientCallStreamObserver<KeepAliveRequest> requests) {
      this.requests = requests;
    }

    void send(String leaseId) {
      requests.onNext(KeepAliveRequest.newBuilder().setLeaseId(leaseId).build());
    }

    void cancel() {
      requests.cancel("keep-alive stream abandoned", null);
    }

    @Override
    public void onNext(KeepAliveResponse response) {
      whileCurrent(() -> onResponse(response));
    }

    @Override
    public void onError(Throwable error) {
      whileCurrent(() -> onStreamClosed(Status.fromThrowable(error)));
    }

    @Override
    public void onCompleted() {
      whileCurrent(
          () ->
              onStreamClosed(
                  Status.UNAVAILABLE.withDescription("server ended the keep-alive stream")));
    }

    private void whileCurrent(Runnable handler) {
      client
          .scheduler()
          .execute(
              () -> {
                if (stream == this) {
                  handler.run();
                }
              });
    }
  }
}
