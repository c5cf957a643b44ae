package io.signalbox.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;

/**
 * Free TCP ports on 127.0.0.1 for servers a test is about to start, taken below the kernel's
 * ephemeral range: a server that binds port 0 (a control plane's gRPC port, say) is given a port
 * from that range, so it can never take one a test was handed but has not bound yet (a gateway port
 * once answered with the control plane's HTTP/2 GOAWAY). Each port is checked free by binding it;
 * none is handed out twice in a JVM.
 */
public final class FreePorts {

  private FreePorts() {}

  /** Where test ports come from: [LOW, the start of the ephemeral range). */
  private static final int LOW = 10_000;

  private static final int HIGH = ephemeralRangeStart();

  /** The next candidate; starts at a random place so that two JVMs seldom walk the same ports. */
  private static int next = LOW + new java.util.Random().nextInt(Math.max(1, (HIGH - LOW) / 2));

  public static int allocate() {
    return allocate(1).get(0);
  }

  private static final java.util.Set<Integer> HANDED_OUT = new java.util.HashSet<>();

  /** Returns {@code count} distinct free ports, none handed out before in this JVM. */
  public static synchronized List<Integer> allocate(int count) {
    List<Integer> ports = new ArrayList<>(count);
    for (int attempt = 0; ports.size() < count && attempt < HIGH - LOW; attempt++) {
      int candidate = next;
      next = next + 1 >= HIGH ? LOW : next + 1;
      if (!HANDED_OUT.contains(candidate) && bindable(candidate)) {
        HANDED_OUT.add(candidate);
        ports.add(candidate);
      }
    }
    if (ports.size() < count) {
      throw new UncheckedIOException(
          new IOException(
              "Could not allocate " + count + " free loopback port(s) in " + LOW + "-" + HIGH));
    }
    return ports;
  }

  private static boolean bindable(int port) {
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(false);
      socket.bind(new java.net.InetSocketAddress(InetAddress.getByName("127.0.0.1"), port), 1);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * The first port of the kernel's ephemeral range (Linux's default 32768 if unreadable). Read line
   * by line: {@code Files.readString} on this /proc file returned only its first byte.
   */
  private static int ephemeralRangeStart() {
    try {
      String range =
          java.nio.file.Files.readAllLines(
                  java.nio.file.Path.of("/proc/sys/net/ipv4/ip_local_port_range"))
              .get(0)
              .trim();
      int start = Integer.parseInt(range.split("\\s+")[0]);
      return start > LOW + 1000 ? start : 32768;
    } catch (IOException | RuntimeException e) {
      return 32768;
    }
  }
}
