package io.signalbox.bench;

import com.google.protobuf.ByteString;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One round of a fan-out bench: the cluster whose assignment must gain {@code port} (or, for a
 * route change, the route prefix the route configuration must gain), and when each client first saw
 * it.
 */
final class Round {
  final String cluster;
  final int port;

  /** The path prefix a route change round waits for; null for an endpoint change. */
  final String routePrefix;

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
    this(cluster, port, null, clients, expected);
  }

  /** A round that every client's route configuration gains a route with {@code prefix} in. */
  static Round ofRoutePrefix(String prefix, int clients) {
    return new Round(null, -1, prefix, clients, null);
  }

  private Round(String cluster, int port, String routePrefix, int clients, boolean[] expected) {
    this.cluster = cluster;
    this.port = port;
    this.routePrefix = routePrefix;
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

  boolean hasArrived(int client) {
    return arrivals[client] != 0;
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

  /**
   * Whether the serialized message holds {@code value} as a whole string field (its length, then
   * its bytes): found without parsing the message, which at 10,000 routes would cost the simulated
   * clients more than the control plane's work.
   */
  static boolean holdsString(ByteString message, String value) {
    byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
    if (utf8.length > 127) {
      throw new IllegalArgumentException("a one-byte length only: " + value);
    }
    byte[] field = new byte[utf8.length + 1];
    field[0] = (byte) utf8.length;
    System.arraycopy(utf8, 0, field, 1, utf8.length);
    // A view of the bytes, not a copy of half a megabyte per client.
    java.nio.ByteBuffer bytes = message.asReadOnlyByteBuffer();
    int end = bytes.limit();
    outer:
    for (int i = bytes.position(); i + field.length <= end; i++) {
      for (int j = 0; j < field.length; j++) {
        if (bytes.get(i + j) != field[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
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
