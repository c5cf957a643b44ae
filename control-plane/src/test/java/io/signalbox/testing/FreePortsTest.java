package io.signalbox.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Test ports never collide with ports the kernel hands to servers that bind port 0. */
class FreePortsTest {

  @Test
  void portsAreDistinctAndBelowTheEphemeralRange() throws Exception {
    int ephemeralStart =
        Integer.parseInt(
            Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range"))
                .get(0)
                .trim()
                .split("\\s+")[0]);

    List<Integer> ports = FreePorts.allocate(50);

    assertThat(new HashSet<>(ports)).hasSize(50);
    assertThat(ports).allSatisfy(port -> assertThat(port).isLessThan(ephemeralStart));
    Set<Integer> kernelChosen = new HashSet<>();
    for (int i = 0; i < 50; i++) {
      try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
        kernelChosen.add(socket.getLocalPort());
      }
    }
    assertThat(kernelChosen).doesNotContainAnyElementsOf(ports);
  }
}
