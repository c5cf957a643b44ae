package io.signalbox.translate;

import io.signalbox.config.GatewaySettings;
import io.signalbox.model.RegistryState;

/**
 * Registry state and gateway settings in, Envoy resources out. Implementations are pure and
 * deterministic.
 */
@FunctionalInterface
public interface Translator {

  /**
   * The resources of {@code state} under {@code settings}, with the policies of the services in
   * {@code handover} enforced at both the edge and their sidecars ({@link PolicyHandover}).
   */
  XdsResources translate(RegistryState state, GatewaySettings settings, PolicyHandover handover);

  /** The resources of {@code state} under {@code settings}, every policy where it belongs. */
  default XdsResources translate(RegistryState state, GatewaySettings settings) {
    return translate(state, settings, PolicyHandover.NONE);
  }
}
