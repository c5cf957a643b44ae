package io.signalbox.xds;

import io.envoyproxy.controlplane.cache.SnapshotConsistencyException;
import io.signalbox.config.GatewaySettings;
import io.signalbox.model.RegistryState;
import io.signalbox.translate.PolicyHandover;
import io.signalbox.translate.Translator;
import io.signalbox.translate.XdsResources;
import java.util.ArrayList;
import java.util.List;

/**
 * Makes complete snapshots from registry states: translation, content versions and the completeness
 * check, in one place for the publisher and the quarantine's trials.
 *
 * <p>Both go through one builder so that each benefits from the other's work: the translator works
 * by difference, and a snapshot takes the versions of every resource that is the same object as in
 * the snapshot built last (whoever built it), so only what changed is hashed.
 */
final class SnapshotBuilder {

  private final Translator translator;

  /** The snapshot built last; guarded by this. */
  private ContentVersionedSnapshot last;

  SnapshotBuilder(Translator translator) {
    this.translator = translator;
  }

  /** The resources of {@code state} under {@code settings}, for a caller that adjusts them. */
  XdsResources translate(RegistryState state, GatewaySettings settings) {
    return translator.translate(state, settings);
  }

  /**
   * A complete snapshot of {@code state} under {@code settings}.
   *
   * @throws SnapshotConsistencyException when the translation is incomplete; nothing is kept
   */
  ContentVersionedSnapshot build(RegistryState state, GatewaySettings settings)
      throws SnapshotConsistencyException {
    return build(translate(state, settings));
  }

  /**
   * A complete snapshot of {@code state} under {@code settings}, with the policies of the services
   * in {@code handover} enforced at the edge and at their sidecars alike.
   *
   * @throws SnapshotConsistencyException when the translation is incomplete; nothing is kept
   */
  ContentVersionedSnapshot build(
      RegistryState state, GatewaySettings settings, PolicyHandover handover)
      throws SnapshotConsistencyException {
    return build(translator.translate(state, settings, handover));
  }

  /**
   * A complete snapshot of {@code resources}, taking versions from the snapshot built last and from
   * {@code alsoFrom} for resources they share.
   *
   * @throws SnapshotConsistencyException when the resources are incomplete; nothing is kept
   */
  synchronized ContentVersionedSnapshot build(
      XdsResources resources, ContentVersionedSnapshot... alsoFrom)
      throws SnapshotConsistencyException {
    List<ContentVersionedSnapshot> earlier = new ArrayList<>(List.of(alsoFrom));
    if (last != null) {
      earlier.add(0, last);
    }
    ContentVersionedSnapshot snapshot =
        ContentVersionedSnapshot.of(resources, earlier.toArray(ContentVersionedSnapshot[]::new));
    // The snapshot built last was complete (it would not be kept otherwise).
    snapshot.ensureConsistentAfter(last);
    last = snapshot;
    return snapshot;
  }
}
