package io.signalbox.config;

import java.util.Objects;

/**
 * What every sidecar Envoy is given besides its service's inbound listeners: the outbound listener
 * its application calls other services through ({@code http://users/...} sent to this address).
 *
 * @param outboundAddress an IP literal, loopback by default: only the application beside the
 *     sidecar may call out through it
 */
public record SidecarSettings(String outboundAddress, int outboundPort) {

  /** 127.0.0.1:15001, Istio's outbound port. */
  public static final SidecarSettings DEFAULT = new SidecarSettings("127.0.0.1", 15001);

  public SidecarSettings {
    Objects.requireNonNull(outboundAddress, "outboundAddress");
    if (outboundPort < 1 || outboundPort > 65535) {
      throw new IllegalArgumentException("outboundPort " + outboundPort + " is not a port");
    }
  }
}
