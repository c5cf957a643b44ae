package io.signalbox.testing;

import io.signalbox.security.TransportSecurity;
import io.signalbox.server.ControlPlaneConfig;

/** The control planes tests start: plaintext, on loopback. */
public final class TestControlPlanes {

  private TestControlPlanes() {}

  /**
   * A control plane without TLS whose registry and xDS server listens on 127.0.0.1, on an ephemeral
   * port unless the test sets one; everything else as the builder's defaults.
   */
  public static ControlPlaneConfig.Builder onLoopback() {
    return ControlPlaneConfig.builder()
        .transport(TransportSecurity.plaintext())
        .grpcAddress("127.0.0.1")
        .grpcPort(0);
  }
}
