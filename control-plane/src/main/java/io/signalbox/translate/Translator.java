package io.signalbox.translate;

import io.signalbox.config.GatewaySettings;
import io.signalbox.model.RegistryState;

/**
 * Registry state and gateway settings in, Envoy resources out. Implementations are pure and
 * deterministic.
 */
@FunctionalInterface
public interface Translator {
  XdsResources translate(RegistryState state, GatewaySettings settings);
}
