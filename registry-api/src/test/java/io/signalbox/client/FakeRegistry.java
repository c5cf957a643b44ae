package io.signalbox.client;

import com.google.protobuf.Duration;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.signalbox.registry.v1.DeregisterRequest;
import io.signalbox.registry.v1.DeregisterResponse;
import io.signalbox.registry.v1.KeepAliveRequest;
import io.signalbox.registry.v1.KeepAliveResponse;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.RegisterResponse;
import io.signalbox.registry.v1.RegistryGrpc;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * An in-memory control plane for the client's tests: leases expire when not renewed for a TTL, like
 * the real one, and the test can make it misbehave: forget every lease (a restart that lost its
 * state), break every KeepAlive stream, stop answering keep-alives, or reject registrations.
 */
final class FakeRegistry extends RegistryGrpc.RegistryImplBase {

  private static final Duration DEFAULT_TTL = Duration.newBuilder().setSeconds(10).build();

  private final Map<String, StoredLease> leases = new ConcurrentHashMap<>();
  private final List<RegisterRequest> registerCalls = new CopyOnWriteArrayList<>();
  private final Map<String, List<Long>> keepAlives = new ConcurrentHashMap<>();
  private final List<String> deregistered = new CopyOnWriteArrayList<>();
  private final Set<KeepAliveSession> sessions = ConcurrentHashMap.newKeySet();
  private volatile Status rejection;
  private volatile boolean silent;

  // --- misbehaviour

  void forgetAllLeases() {
    leases.clear();
  }

  void breakAllStreams() {
    sessions.forEach(KeepAliveSession::kill);
  }

  void stopAnsweringKeepAlives() {
    silent = true;
  }

  void answerKeepAlivesAgain() {
    silent = false;
  }

  void rejectRegistrationsWith(Status status) {
    rejection = status;
  }

  // --- observations

  List<RegisterRequest> registerCalls() {
    return List.copyOf(registerCalls);
  }

  boolean isLive(String leaseId) {
    StoredLease lease = leases.get(leaseId);
    return lease != null && !lease.isExpired();
  }

  boolean isRegistered(String service, String instanceId) {
    return leases.values().stream()
        .anyMatch(lease -> !lease.isExpired() && lease.isOf(service, instanceId));
  }

  /** When each keep-alive for this lease arrived, in {@link System#nanoTime()} terms. */
  List<Long> keepAlivesFor(String leaseId) {
    return List.copyOf(keepAlives.getOrDefault(leaseId, List.of()));
  }

  List<String> deregistered() {
    return List.copyOf(deregistered);
  }

  int openStreams() {
    return sessions.size();
  }

  // --- the Registry service

  @Override
  public void register(RegisterRequest request, StreamObserver<RegisterResponse> responses) {
    registerCalls.add(request);
    Status rejectWith = rejection;
    if (rejectWith != null) {
      responses.onError(rejectWith.asRuntimeException());
      return;
    }
    // Registering the same instance again replaces its registration.
    leases
        .values()
        .removeIf(lease -> lease.isOf(request.getService(), request.getInstance().getId()));
    String id = "lease-" + UUID.randomUUID();
    Duration ttl = request.hasLeaseTtl() ? request.getLeaseTtl() : DEFAULT_TTL;
    leases.put(id, new StoredLease(request, ttl));
    responses.onNext(RegisterResponse.newBuilder().setLeaseId(id).setTtl(ttl).build());
    responses.onCompleted();
  }

  @Override
  public StreamObserver<KeepAliveRequest> keepAlive(StreamObserver<KeepAliveResponse> responses) {
    KeepAliveSession session = new KeepAliveSession(responses);
    sessions.add(session);
    return session;
  }

  @Override
  public void deregister(DeregisterRequest request, StreamObserver<DeregisterResponse> responses) {
    StoredLease removed = leases.remove(request.getLeaseId());
    if (removed == null || removed.isExpired()) {
      responses.onError(Status.NOT_FOUND.withDescription("unknown lease").asRuntimeException());
      return;
    }
    deregistered.add(request.getLeaseId());
    responses.onNext(DeregisterResponse.getDefaultInstance());
    responses.onCompleted();
  }

  private static final class StoredLease {

    private final RegisterRequest request;
    private final Duration ttl;
    private volatile long expiresAtNanos;

    StoredLease(RegisterRequest request, Duration ttl) {
      this.request = request;
      this.ttl = ttl;
      renew();
    }

    void renew() {
      expiresAtNanos =
          System.nanoTime() + TimeUnit.SECONDS.toNanos(ttl.getSeconds()) + ttl.getNanos();
    }

    boolean isExpired() {
      return System.nanoTime() - expiresAtNanos > 0;
    }

    boolean isOf(String service, String instanceId) {
      return request.getService().equals(service)
          && request.getInstance().getId().equals(instanceId);
    }
  }

  private final class KeepAliveSession implements StreamObserver<KeepAliveRequest> {

    private final StreamObserver<KeepAliveResponse> responses;
    private boolean closed;

    KeepAliveSession(StreamObserver<KeepAliveResponse> responses) {
      this.responses = responses;
    }

    @Override
    public void onNext(KeepAliveRequest request) {
      String id = request.getLeaseId();
      keepAlives.computeIfAbsent(id, k -> new CopyOnWriteArrayList<>()).add(System.nanoTime());
      if (silent) {
        return;
      }
      StoredLease lease = leases.get(id);
      KeepAliveResponse.Builder response = KeepAliveResponse.newBuilder().setLeaseId(id);
      if (lease == null || lease.isExpired()) {
        leases.remove(id);
        response.setStatus(KeepAliveResponse.Status.LEASE_UNKNOWN);
      } else {
        lease.renew();
        response.setStatus(KeepAliveResponse.Status.RENEWED).setTtl(lease.ttl);
      }
      send(response.build());
    }

    @Override
    public void onError(Throwable t) {
      sessions.remove(this);
    }

    @Override
    public void onCompleted() {
      sessions.remove(this);
      synchronized (this) {
        if (!closed) {
          closed = true;
          responses.onCompleted();
        }
      }
    }

    void kill() {
      sessions.remove(this);
      synchronized (this) {
        if (!closed) {
          closed = true;
          responses.onError(
              Status.UNAVAILABLE.withDescription("stream broken by test").asRuntimeException());
        }
      }
    }

    private synchronized void send(KeepAliveResponse response) {
      if (!closed) {
        responses.onNext(response);
      }
    }
  }
}
