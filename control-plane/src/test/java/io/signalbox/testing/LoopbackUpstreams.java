package io.signalbox.testing;

import io.signalbox.config.GatewaySettings;
import io.signalbox.registry.UpstreamAddressPolicy;

/**
 * Test backends listen on loopback, which a production gateway refuses as an upstream; tests allow
 * it the way an operator would in the settings file ({@code upstreams.allowCidrs}).
 */
public final class LoopbackUpstreams {

  public static final UpstreamAddressPolicy ALLOWED =
      UpstreamAddressPolicy.DEFAULT.allowing("127.0.0.0/8", "::1");

  private LoopbackUpstreams() {}

  /** {@code settings} with loopback instances allowed. */
  public static GatewaySettings allowedIn(GatewaySettings settings) {
    return settings.toBuilder().upstreams(ALLOWED).build();
  }
}
