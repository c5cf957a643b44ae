package io.signalbox.xds;

import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.signalbox.ca.IssuedCertificate;
import io.signalbox.config.GatewaySettings;
import io.signalbox.model.RegistryState;
import io.signalbox.model.ServiceState;
import io.signalbox.translate.PolicyHandover;
import io.signalbox.translate.SidecarTranslator;
import io.signalbox.translate.XdsNames;
import io.signalbox.translate.XdsResources;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What each node group is sent of a publication:
 *
 * <ul>
 *   <li>a sidecar group, its service's sidecar snapshot ({@link SidecarTranslator}) with the
 *       service's workload certificate ({@link MeshIdentities}), sharing the fleet's clusters and
 *       endpoints (objects and versions);
 *   <li>an edge group, the fleet's snapshot, with the fleet's own workload certificate once some
 *       instance sits behind a sidecar (the edge reaches it over mutual TLS too);
 * </ul>
 *
 * <p>each made once per publication (or certificate) and fleet, and then its zone's view ({@link
 * ContentVersionedSnapshot#forGroup}).
 */
public final class SidecarSnapshots implements GroupSnapshots {

  /**
   * A snapshot and what it was made from: the fleet's snapshot, the service's own state (its
   * instances' ports, allowed callers and calls, which the fleet's snapshot may not show), the
   * settings and the certificate; for a scoped service, the parts of the registry and the fleet its
   * sidecars take ({@link SidecarTranslator.ScopedInputs}).
   */
  private record Made(
      ContentVersionedSnapshot fleet,
      Optional<SidecarTranslator.ScopedInputs> scoped,
      ServiceState own,
      GatewaySettings settings,
      PolicyHandover handover,
      IssuedCertificate certificate,
      ContentVersionedSnapshot snapshot,
      Set<String> takes) {

    /**
     * Whether this is what these inputs make. A scoped service's sidecars are kept whatever else of
     * the fleet changed, as long as what they take of it did not: their cost follows the services
     * they call, not the registry.
     */
    boolean isOf(
        ContentVersionedSnapshot fleet,
        Optional<SidecarTranslator.ScopedInputs> scoped,
        ServiceState own,
        GatewaySettings settings,
        PolicyHandover handover,
        IssuedCertificate certificate) {
      return (this.fleet == fleet || (scoped.isPresent() && scoped.equals(this.scoped)))
          && Objects.equals(this.own, own)
          && this.settings.equals(settings)
          && this.handover.equals(handover)
          && this.certificate == certificate;
    }
  }

  private final MeshIdentities mesh;
  private final SidecarTranslator translator = new SidecarTranslator();

  /**
   * The sidecar snapshot made last, whichever service's: sidecars that name no callees share their
   * outbound routes (one object), which the next one then takes the version of instead of hashing
   * them again.
   */
  private volatile ContentVersionedSnapshot madeLast;

  /**
   * The two snapshots asked for last of a service's sidecars or a fleet's edge, the last first.
   * Two, because the fleet's Envoys are judged by two publications in turn: the one just sent, and
   * the last one they all accepted (while an Envoy's rejection is on record, {@link FleetAnswers};
   * and for the rejected resources the cache sends again, {@link XdsSnapshotCache#setLastGood}).
   * With one, each would evict the other, and every publication would translate the sidecars twice
   * more.
   */
  private static final class Recent {
    final Made last;
    final Made before;

    Recent(Made last, Made before) {
      this.last = last;
      this.before = before;
    }

    /** {@code made}, one of these, asked for last. */
    Recent first(Made made) {
      return made == last ? this : new Recent(made, last);
    }
  }

  private final Map<String, Recent> sidecars = new ConcurrentHashMap<>();
  private final Map<String, Recent> edges = new ConcurrentHashMap<>();

  /** The last fleet snapshot checked for mesh clusters, and the answer; guarded by this. */
  private ContentVersionedSnapshot checkedFleet;

  private boolean checkedUsesMesh;

  public SidecarSnapshots(MeshIdentities mesh) {
    this.mesh = mesh;
  }

  /**
   * What {@code group} is sent when the fleet is sent {@code fleet}, translated from {@code state}
   * with {@code settings} and {@code handover}, before its zone's view is taken ({@link
   * ContentVersionedSnapshot#forGroup}): the snapshot every group of the service (a sidecar group)
   * or of the fleet (an edge group) shares.
   */
  @Override
  public ContentVersionedSnapshot base(
      String group,
      ContentVersionedSnapshot fleet,
      RegistryState state,
      GatewaySettings settings,
      PolicyHandover handover) {
    Optional<String> service = NodeGroups.sidecarService(group);
    if (service.isPresent()) {
      // A publication asks only the scoped groups a change reaches (GroupReach): those it asks
      // here have their inputs compared, not a change log read again.
      String identity = settings.access().serviceIdentity(service.get()).value();
      ServiceState own = state.services().get(service.get());
      Optional<SidecarTranslator.ScopedInputs> scoped = SidecarTranslator.scopedInputs(own, state);
      return sidecars
          .compute(
              service.get(),
              (name, recent) ->
                  made(
                      recent,
                      fleet,
                      scoped,
                      own,
                      settings,
                      handover,
                      // Under the group's lock, as its forgetting: a certificate forgotten
                      // meanwhile is issued again, not kept without its identity's record.
                      mesh.current(identity),
                      () ->
                          translator.translate(fleet.resources(), state, settings, handover, name)))
          .last
          .snapshot();
    }
    if (!usesMesh(fleet)) {
      return fleet;
    }
    String fleetName = NodeGroups.fleetOf(group);
    String identity = settings.access().envoyIdentity(fleetName).value();
    return edges
        .compute(
            fleetName,
            (name, recent) ->
                made(
                    recent,
                    fleet,
                    Optional.empty(),
                    null,
                    settings,
                    handover,
                    mesh.current(identity),
                    fleet::resources))
        .last
        .snapshot();
  }

  /**
   * Lets go of what was made for {@code group}'s service or fleet once no group of {@code
   * remaining} shares it (zones of one service or fleet share it): its Envoys have gone, and the
   * snapshot kept for it would hold on to the fleet's resources of its time; its workload
   * certificate goes too.
   */
  @Override
  public void forget(String group, java.util.Collection<String> remaining) {
    Optional<String> service = NodeGroups.sidecarService(group);
    if (service.isPresent()) {
      if (remaining.stream().noneMatch(other -> NodeGroups.sidecarService(other).equals(service))) {
        sidecars.computeIfPresent(
            service.get(),
            (name, forgotten) -> {
              forgetCertificate(group, forgotten);
              return null;
            });
        translator.forget(service.get());
      }
    } else {
      String fleet = NodeGroups.fleetOf(group);
      if (remaining.stream()
          .noneMatch(
              other ->
                  NodeGroups.sidecarService(other).isEmpty()
                      && NodeGroups.fleetOf(other).equals(fleet))) {
        edges.computeIfPresent(
            fleet,
            (name, forgotten) -> {
              forgetCertificate(group, forgotten);
              return null;
            });
      }
    }
  }

  /**
   * Lets go of the certificate of {@code group}'s identity: the one made for it, or one renewed
   * since while publishing was held ({@link #withCertificateRenewed}).
   */
  private void forgetCertificate(String group, Recent forgotten) {
    if (forgotten != null) {
      // Both kept snapshots' identities: settings that renamed the identity may have been judged
      // by the older last.
      if (forgotten.before != null) {
        mesh.forget(identity(group, forgotten.before.settings()));
      }
      mesh.forget(identity(group, forgotten.last.settings()));
    }
  }

  /**
   * A scoped service's sidecars are decided by the services they take (its own and those it calls)
   * once {@code made} is what was made for them last, without a policy handover: {@link #base}
   * keeps it while their states, the settings and the certificate stay ({@link Made#isOf}).
   */
  @Override
  public Optional<Set<String>> decidedOnlyBy(String group, ContentVersionedSnapshot made) {
    Optional<String> service = NodeGroups.sidecarService(group);
    Recent recent = service.isPresent() ? sidecars.get(service.get()) : null;
    if (recent == null) {
      return Optional.empty();
    }
    for (Made kept : Arrays.asList(recent.last, recent.before)) {
      if (kept != null
          && kept.snapshot() == made
          && kept.scoped().isPresent()
          && kept.handover().isEmpty()) {
        return Optional.of(kept.takes());
      }
    }
    return Optional.empty();
  }

  @Override
  public Instant certificateWindow() {
    return mesh.window();
  }

  /**
   * When the workload certificate the Envoys of {@code group} hold expires: a sidecar group's
   * service's, an edge fleet's own; empty when the group holds none.
   */
  @Override
  public java.util.Optional<java.time.Instant> certificateExpiry(
      String group, GatewaySettings settings) {
    return mesh.expiry(identity(group, settings));
  }

  /**
   * {@code held} with the current certificate of {@code group}'s identity in place of the one it
   * holds (and the CA's, which comes with it); everything else as held, with its versions.
   */
  @Override
  public ContentVersionedSnapshot withCertificateRenewed(
      String group, ContentVersionedSnapshot held, GatewaySettings settings) {
    XdsResources resources = held.resources();
    if (resources.secrets().stream()
        .noneMatch(secret -> secret.getName().equals(XdsNames.MESH_IDENTITY_SECRET))) {
      return held;
    }
    List<Secret> current = mesh.secrets(mesh.current(identity(group, settings)));
    if (resources.secrets().containsAll(current)) {
      return held;
    }
    List<Secret> renewed = new ArrayList<>();
    for (Secret secret : resources.secrets()) {
      if (!secret.getName().equals(XdsNames.MESH_IDENTITY_SECRET)
          && !secret.getName().equals(XdsNames.MESH_TRUST_SECRET)) {
        renewed.add(secret);
      }
    }
    return ContentVersionedSnapshot.of(
        withSecrets(
            new XdsResources(
                resources.listeners(),
                resources.routes(),
                resources.clusters(),
                resources.endpoints(),
                renewed,
                resources.localZoneClusters()),
            current),
        held);
  }

  /** The identity whose certificate the Envoys of {@code group} hold. */
  private static String identity(String group, GatewaySettings settings) {
    Optional<String> service = NodeGroups.sidecarService(group);
    return service.isPresent()
        ? settings.access().serviceIdentity(service.get()).value()
        : settings.access().envoyIdentity(NodeGroups.fleetOf(group)).value();
  }

  /** Whether {@code group} is a service's sidecars, which are sent a snapshot of their own. */
  static boolean isSidecarGroup(String group) {
    return NodeGroups.sidecarService(group).isPresent();
  }

  /**
   * {@code recent} with the snapshot made of these inputs first: one of them when it was made of
   * the same, else a new one, made with the versions of the one asked for last.
   */
  private Recent made(
      Recent recent,
      ContentVersionedSnapshot fleet,
      Optional<SidecarTranslator.ScopedInputs> scoped,
      ServiceState own,
      GatewaySettings settings,
      PolicyHandover handover,
      IssuedCertificate certificate,
      java.util.function.Supplier<XdsResources> resources) {
    if (recent != null) {
      for (Made made : Arrays.asList(recent.last, recent.before)) {
        if (made != null && made.isOf(fleet, scoped, own, settings, handover, certificate)) {
          return recent.first(made);
        }
      }
    }
    Made before = recent == null ? null : recent.last;
    XdsResources withCertificate = withSecrets(resources.get(), mesh.secrets(certificate));
    // The first is the one whose names a changed type is merged with: a scoped group's own last
    // snapshot, which holds its few clusters and endpoints, rather than the fleet's every one.
    List<ContentVersionedSnapshot> earlier = new ArrayList<>(3);
    if (before != null && scoped.isPresent()) {
      earlier.add(before.snapshot());
    }
    earlier.add(fleet);
    if (before != null && scoped.isEmpty()) {
      earlier.add(before.snapshot());
    }
    ContentVersionedSnapshot last = madeLast;
    if (last != null && (before == null || last != before.snapshot())) {
      earlier.add(last);
    }
    ContentVersionedSnapshot snapshot =
        ContentVersionedSnapshot.of(
            withCertificate, earlier.toArray(ContentVersionedSnapshot[]::new));
    madeLast = snapshot;
    return new Recent(
        new Made(
            fleet,
            scoped,
            own,
            settings,
            handover,
            certificate,
            snapshot,
            takes(scoped.isPresent() ? own : null)),
        before);
  }

  /** The services a scoped service's sidecars are made from: its own and those it calls. */
  private static Set<String> takes(ServiceState scoped) {
    if (scoped == null) {
      return Set.of();
    }
    Set<String> takes = new HashSet<>(scoped.mesh().calls());
    takes.add(scoped.name());
    return Collections.unmodifiableSet(takes);
  }

  private static XdsResources withSecrets(XdsResources resources, List<Secret> secrets) {
    List<Secret> all = new ArrayList<>(resources.secrets());
    all.addAll(secrets);
    return new XdsResources(
        resources.listeners(),
        resources.routes(),
        resources.clusters(),
        resources.endpoints(),
        all,
        resources.localZoneClusters());
  }

  /** Whether a cluster of {@code fleet} sends mutual TLS to sidecars; checked once per snapshot. */
  private synchronized boolean usesMesh(ContentVersionedSnapshot fleet) {
    if (checkedFleet != fleet) {
      checkedFleet = fleet;
      checkedUsesMesh =
          fleet.resources().clusters().stream()
              .anyMatch(cluster -> cluster.getTransportSocketMatchesCount() > 0);
    }
    return checkedUsesMesh;
  }
}
