package io.signalbox.bench;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.signalbox.registry.v1.KeepAliveRequest;
import io.signalbox.registry.v1.KeepAliveResponse;
import io.signalbox.registry.v1.RegistryGrpc;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Renews leases over the registry API's KeepAlive stream as fast as the control plane answers, with
 * a fixed number of streams. Each stream is used the way the SDK's LeaseKeeper uses one: lease ids
 * sent one message at a time, each answered with RENEWED or LEASE_UNKNOWN, and a broken stream
 * reopened (after a pause) with the lease sent again. The SDK's stream carries one lease and sends
 * every TTL/3; here a stream carries its share of the leases and sends the next one as soon as the
 * previous is answered (one renewal in flight per stream, a closed loop), so the streams together
 * measure the rate the control plane sustains.
 */
final class KeepAliveLoad {

  /** What one measured window gave. */
  record Result(
      int streams, double seconds, long renewed, long errors, Stats latency, String firstError) {
    double perSecond() {
      return renewed / seconds;
    }
  }

  private static final long REOPEN_PAUSE_MS = 100;

  private final List<String> leaseIds;
  private final int streams;
  private final ScheduledExecutorService reopens =
      Executors.newSingleThreadScheduledExecutor(
          runnable -> {
            Thread thread = new Thread(runnable, "keepalive-reopen");
            thread.setDaemon(true);
            return thread;
          });
  private final AtomicLong renewed = new AtomicLong();
  private final AtomicLong errors = new AtomicLong();
  private volatile String firstError;
  private volatile boolean measuring;
  private volatile boolean running;
  private final List<LeaseStream> leaseStreams = new ArrayList<>();

  KeepAliveLoad(List<String> leaseIds, int streams) {
    if (leaseIds.isEmpty()) {
      throw new IllegalArgumentException("no leases to renew");
    }
    this.leaseIds = leaseIds;
    this.streams = Math.max(1, Math.min(streams, leaseIds.size()));
  }

  /** Warm-up (discarded), then the measured window; every stream is closed before returning. */
  Result run(int grpcPort, double warmupSeconds, double seconds) throws InterruptedException {
    ManagedChannel channel =
        NettyChannelBuilder.forAddress("127.0.0.1", grpcPort).usePlaintext().build();
    try {
      RegistryGrpc.RegistryStub registry = RegistryGrpc.newStub(channel);
      running = true;
      for (int s = 0; s < streams; s++) {
        // Stream s renews leases s, s + streams, s + 2 * streams, ...
        LeaseStream stream = new LeaseStream(registry, s);
        leaseStreams.add(stream);
        stream.open();
      }
      Thread.sleep((long) (warmupSeconds * 1000));
      leaseStreams.forEach(LeaseStream::resetSamples);
      renewed.set(0);
      errors.set(0);
      firstError = null;
      measuring = true;
      long started = System.nanoTime();
      Thread.sleep((long) (seconds * 1000));
      measuring = false;
      double elapsed = (System.nanoTime() - started) / 1e9;
      running = false;
      Stats latency = new Stats();
      for (LeaseStream stream : leaseStreams) {
        stream.drainSamplesInto(latency);
        stream.close();
      }
      return new Result(streams, elapsed, renewed.get(), errors.get(), latency, firstError);
    } finally {
      running = false;
      reopens.shutdownNow();
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private void countError(String what) {
    if (measuring) {
      if (errors.getAndIncrement() == 0) {
        firstError = what;
      }
    }
  }

  /** One KeepAlive call and its share of the leases; one renewal in flight at a time. */
  private final class LeaseStream {

    private final RegistryGrpc.RegistryStub registry;
    private final int first;
    private int next;
    private String inFlight;
    private long sentAt;
    private long[] samples = new long[1024];
    private int sampleCount;
    private ClientCallStreamObserver<KeepAliveRequest> requests;

    LeaseStream(RegistryGrpc.RegistryStub registry, int first) {
      this.registry = registry;
      this.first = first;
      this.next = first;
    }

    synchronized void open() {
      if (!running) {
        return;
      }
      registry.keepAlive(
          new ClientResponseObserver<KeepAliveRequest, KeepAliveResponse>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<KeepAliveRequest> call) {
              requests = call;
            }

            @Override
            public void onNext(KeepAliveResponse response) {
              answered(response);
            }

            @Override
            public void onError(Throwable error) {
              broken(Status.fromThrowable(error));
            }

            @Override
            public void onCompleted() {
              broken(Status.UNAVAILABLE.withDescription("server ended the keep-alive stream"));
            }
          });
      // A stream that broke with a renewal in flight sends that lease again first, as the SDK does.
      send(inFlight != null ? inFlight : nextLease());
    }

    private String nextLease() {
      String lease = leaseIds.get(next);
      next += streams;
      if (next >= leaseIds.size()) {
        next = first;
      }
      return lease;
    }

    private void send(String leaseId) {
      inFlight = leaseId;
      sentAt = System.nanoTime();
      requests.onNext(KeepAliveRequest.newBuilder().setLeaseId(leaseId).build());
    }

    private synchronized void answered(KeepAliveResponse response) {
      long latency = System.nanoTime() - sentAt;
      if (response.getStatus() == KeepAliveResponse.Status.RENEWED
          && response.getLeaseId().equals(inFlight)) {
        if (measuring) {
          renewed.incrementAndGet();
          record(latency);
        }
      } else {
        countError(
            response.getStatus() + " for " + response.getLeaseId() + " (sent " + inFlight + ")");
      }
      inFlight = null;
      if (running) {
        send(nextLease());
      }
    }

    private synchronized void broken(Status status) {
      if (!running) {
        return;
      }
      countError("stream closed: " + status.getCode() + " " + status.getDescription());
      reopens.schedule(this::open, REOPEN_PAUSE_MS, TimeUnit.MILLISECONDS);
    }

    private void record(long nanos) {
      if (sampleCount == samples.length) {
        samples = java.util.Arrays.copyOf(samples, samples.length * 2);
      }
      samples[sampleCount++] = nanos;
    }

    synchronized void resetSamples() {
      sampleCount = 0;
    }

    synchronized void drainSamplesInto(Stats stats) {
      for (int i = 0; i < sampleCount; i++) {
        stats.add(samples[i]);
      }
    }

    synchronized void close() {
      if (requests != null) {
        requests.cancel("benchmark over", null);
      }
    }
  }
}
