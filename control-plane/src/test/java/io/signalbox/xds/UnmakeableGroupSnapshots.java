package io.signalbox.xds;

import io.signalbox.config.GatewaySettings;
import io.signalbox.model.RegistryState;
import io.signalbox.translate.PolicyHandover;
import java.time.Instant;
import java.util.Collection;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@link SidecarSnapshots} whose snapshots a test can make fail for some groups (as when their
 * workload certificate cannot be issued), and which records the groups asked for a snapshot.
 */
final class UnmakeableGroupSnapshots implements GroupSnapshots {

  private final SidecarSnapshots sidecars;

  /** Groups whose snapshot cannot be made, from now on. */
  final Set<String> unmakeable = ConcurrentHashMap.newKeySet();

  /** The groups asked for their snapshot ({@link #base}), since cleared last. */
  final Set<String> asked = ConcurrentHashMap.newKeySet();

  UnmakeableGroupSnapshots(SidecarSnapshots sidecars) {
    this.sidecars = sidecars;
  }

  private void failIfUnmakeable(String group) {
    if (unmakeable.contains(group)) {
      throw new IllegalStateException(group + " cannot be made");
    }
  }

  @Override
  public ContentVersionedSnapshot base(
      String group,
      ContentVersionedSnapshot fleet,
      RegistryState state,
      GatewaySettings settings,
      PolicyHandover handover) {
    asked.add(group);
    failIfUnmakeable(group);
    return sidecars.base(group, fleet, state, settings, handover);
  }

  @Override
  public ContentVersionedSnapshot withCertificateRenewed(
      String group, ContentVersionedSnapshot held, GatewaySettings settings) {
    failIfUnmakeable(group);
    return sidecars.withCertificateRenewed(group, held, settings);
  }

  @Override
  public void forget(String group, Collection<String> remaining) {
    sidecars.forget(group, remaining);
  }

  @Override
  public Optional<Instant> certificateExpiry(String group, GatewaySettings settings) {
    return sidecars.certificateExpiry(group, settings);
  }

  @Override
  public Optional<Set<String>> decidedOnlyBy(String group, ContentVersionedSnapshot made) {
    return sidecars.decidedOnlyBy(group, made);
  }

  @Override
  public Instant certificateWindow() {
    return sidecars.certificateWindow();
  }
}
