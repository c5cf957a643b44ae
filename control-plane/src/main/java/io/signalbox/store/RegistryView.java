package io.signalbox.store;

import io.signalbox.model.RegistryState;

/**
 * The registry as the pipeline reads it: its state at a revision and a signal when it changes. The
 * registry engine offers it whichever back end keeps the registry.
 */
public interface RegistryView {

  /** The current state; cheap to call repeatedly while nothing changes. */
  RegistryState state();

  /**
   * What the gateway is built from: {@link #state()} without quarantined services, at the same
   * revision (a quarantine or its release is a change of its own).
   */
  default RegistryState servedState() {
    return state();
  }

  /** Called after every change of {@link #state()}, on the thread that made it. Must not block. */
  void addChangeListener(Runnable listener);
}
