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

  /** Returns {@code count} distinct ports. Nothing listens on them once this returns. */
  public static List<Integer> allocate(int count) {
    List<ServerSocket> sockets = new ArrayList<>(count);
    try {
      // Every socket stays bound until all are allocated; otherwise the kernel may hand out the
      // same port twice.
      for (int i = 0; i < count; i++) {
        sockets.add(new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1")));
      }
      return sockets.stream().map(ServerSocket::getLocalPort).toList();
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
