package io.signalbox.config;

import java.time.Duration;
import java.util.Objects;

/**
 * What every sidecar Envoy is given besides its service's inbound listeners: the outbound listener
 * its application calls other services through ({@code http://users/...} sent to this address).
 *
 * @param outboundAddress an IP literal, loopback by default: only the application beside the
 *     sidecar may call out through it
 * @param certificateValidity how long a workload certificate is valid (1 h by default); it is
 *     issued again once half of that has passed
 */
public record SidecarSettings(
    String outboundAddress, int outboundPort, Duration certificateValidity) {

  /** 127.0.0.1:15001, Istio's outbound port; certificates valid for an hour. */
  public static final SidecarSettings DEFAULT =
      new SidecarSettings("127.0.0.1", 15001, Duration.ofHours(1));

  /** The outbound listener on {@code address:port}, certificates as by default. */
  public SidecarSettings(String outboundAddress, int outboundPort) {
    this(outboundAddress, outboundPort, DEFAULT.certificateValidity());
  }

  public SidecarSettings {
    Objects.requireNonNull(outboundAddress, "outboundAddress");
    if (outboundPort < 1 || outboundPort > 65535) {
      throw new IllegalArgumentException("outboundPort " + outboundPort + " is not a port");
    }
    if (certificateValidity.compareTo(Duration.ofSeconds(2)) < 0) {
      throw new IllegalArgumentException(
          "certificateValidity " + certificateValidity + " is shorter than 2 s");
    }
  }
}
