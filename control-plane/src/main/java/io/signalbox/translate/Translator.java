package io.signalbox.translate;

import io.signalbox.model.RegistryState;

/** Registry state in, Envoy resources out. Implementations are pure and deterministic. */
@FunctionalInterface
public interface Translator {
  XdsResources translate(RegistryState state);
}
