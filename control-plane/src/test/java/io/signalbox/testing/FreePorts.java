package io.signalbox.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;

/** Free TCP ports on 127.0.0.1, chosen by the kernel, for servers a test is about to start. */
public final class FreePorts {

  private FreePorts() {}

  public static int allocate() {
    return allocate(1).get(0);
  }

  /**
   * Ports handed out before, in this JVM: a port a test was given but has not bound yet is free to
   * the kernel, which may hand it out again (a test once got the same port for its control plane
   * and its gateway).
   */
  private static final java.util.Set<Integer> HANDED_OUT = new java.util.HashSet<>();

  /** Returns {@code count} distinct ports, none handed out before in this JVM. */
  public static synchronized List<Integer> allocate(int count) {
    List<ServerSocket> sockets = new ArrayList<>(count);
    try {
      // Every socket stays bound until all are allocated; otherwise the kernel may hand out the
      // same port twice. A port handed out before stays bound too, so the kernel picks another.
      List<Integer> ports = new ArrayList<>(count);
      for (int attempt = 0; ports.size() < count && attempt < count + 1000; attempt++) {
        ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"));
        sockets.add(socket);
        if (HANDED_OUT.add(socket.getLocalPort())) {
          ports.add(socket.getLocalPort());
        }
      }
      if (ports.size() < count) {
        throw new IOException("the kernel kept offering ports handed out before");
      }
      return ports;
    } catch (IOException e) {
      throw new UncheckedIOException("Could not allocate " + count + " free loopback port(s)", e);
    } finally {
      sockets.forEach(FreePorts::closeQuietly);
    }
  }

  private static void closeQuietly(ServerSocket socket) {
    try {
      socket.close();
    } catch (IOException ignored) {
      // The port is released either way.
    }
  }
}
