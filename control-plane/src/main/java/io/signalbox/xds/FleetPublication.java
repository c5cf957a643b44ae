package io.signalbox.xds;

import io.signalbox.config.GatewaySettings;
import io.signalbox.model.RegistryState;
import io.signalbox.translate.PolicyHandover;

/**
 * A fleet snapshot to publish and what it was built from: each node group is sent its own snapshot
 * of it ({@link GroupSnapshots#base}).
 */
record FleetPublication(
    ContentVersionedSnapshot fleet,
    RegistryState state,
    GatewaySettings settings,
    PolicyHandover handover) {}
