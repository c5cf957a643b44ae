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

  Round(String cluster, int port, int clients) {
    this.cluster = cluster;
    this.port = port;
    this.arrivals = new long[clients];
    this.remaining = new AtomicInteger(clients);
  }

  void arrived(int client, long nanos) {
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
