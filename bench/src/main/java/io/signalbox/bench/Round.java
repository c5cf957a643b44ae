package io.signalbox.bench;

import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One round of a fan-out bench: the cluster whose assignment must gain {@code port}, and when each
 * client first saw it.
 */
final class Round {
  final String cluster;
  final int port;
  final long[] arrivals;
  final AtomicInteger remaining;
  final CountDownLatch allArrived = new CountDownLatch(1);

  /** Which clients are to get the change; null for all. */
  private final boolean[] expected;

  /** Arrivals at clients that were not to get the change (a scoped sidecar that got it anyway). */
  final AtomicInteger unexpected = new AtomicInteger();

  Round(String cluster, int port, int clients) {
    this(cluster, port, clients, null);
  }

  /** A round that only the clients marked in {@code expected} are to see. */
  Round(String cluster, int port, int clients, boolean[] expected) {
    this.cluster = cluster;
    this.port = port;
    this.arrivals = new long[clients];
    this.expected = expected;
    int count = clients;
    if (expected != null) {
      count = 0;
      for (boolean e : expected) {
        count += e ? 1 : 0;
      }
    }
    this.remaining = new AtomicInteger(count);
    if (count == 0) {
      allArrived.countDown();
    }
  }

  void arrived(int client, long nanos) {
    if (expected != null && !expected[client]) {
      unexpected.incrementAndGet();
      return;
    }
    if (arrivals[client] == 0) {
      arrivals[client] = nanos;
      if (remaining.decrementAndGet() == 0) {
        allArrived.countDown();
      }
    }
  }

  /** Whether {@code assignment} has an endpoint on {@code port}. */
  static boolean hasPort(ClusterLoadAssignment assignment, int port) {
    for (LocalityLbEndpoints locality : assignment.getEndpointsList()) {
      for (LbEndpoint endpoint : locality.getLbEndpointsList()) {
        if (endpoint.getEndpoint().getAddress().getSocketAddress().getPortValue() == port) {
          return true;
        }
      }
    }
    return false;
  }
}
