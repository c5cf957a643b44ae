package io.signalbox.envoy;

import java.time.Duration;

/** What Envoy does when its configuration says nothing, where a stage must know it. */
public final class EnvoyDefaults {

  /** The timeout of a route that sets none. */
  public static final Duration ROUTE_TIMEOUT = Duration.ofSeconds(15);

  private EnvoyDefaults() {}
}
