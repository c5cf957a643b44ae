package io.signalbox.xds;

import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.signalbox.envoy.XdsTypes;
import io.signalbox.xds.ProxyStatusTracker.Mode;
import io.signalbox.xds.ProxyStatusTracker.ProxyStatus;
import io.signalbox.xds.ProxyStatusTracker.SyncStatus;
import io.signalbox.xds.ProxyStatusTracker.TypeStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * What the connected Envoys made of a published snapshot, read from the {@link ProxyStatusTracker}:
 * every Envoy acknowledged it, one rejected it, or some have not answered yet.
 *
 * <p>Envoys answer with versions, and the tracker records them as they come; a response may even be
 * sent after the snapshot is set (the library sends on an executor), so an answer is matched by
 * version, never by time. For a type an Envoy subscribes to by name (state of the world), the
 * version is the snapshot's over the names it asked for, as the cache computes it. A rejection
 * counts against the snapshot only if the rejected resources differ from the reference's (the last
 * configuration known to hold no rejected registration): Envoy rejecting what it was also sent
 * before, such as a listener on a port it cannot bind, is not the new snapshot's doing.
 *
 * <p>Two approximations, both about endpoints: a delta stream subscribes to endpoints by name and
 * is sent nothing when none it holds changed, so a delta endpoint type counts as accepted once its
 * latest response is; and a state of the world Envoy asks for new clusters' endpoints only after
 * accepting the clusters, so for a moment its endpoints look accepted already. An endpoint
 * rejection missed that way shows in the next verdict.
 */
final class FleetVerdict {

  private FleetVerdict() {}

  enum Kind {
    ACCEPTED,
    REJECTED,
    PENDING
  }

  /** One Envoy rejecting one type. */
  record Rejection(
      String nodeId,
      String group,
      String typeUrl,
      List<String> requestedNames,
      String version,
      String errorDetail) {

    /** "edge-1 (group edge) rejected routes: ..." */
    String describe() {
      return nodeId
          + " (group "
          + group
          + ") rejected "
          + XdsTypes.shortName(typeUrl)
          + ": "
          + errorDetail;
    }

    /**
     * Whether the reference holds the very resources rejected, so that the rejection is not a
     * change's doing.
     */
    boolean sameIn(Function<String, ContentVersionedSnapshot> reference) {
      return XdsTypes.resourceType(typeUrl)
          .map(type -> reference.apply(group).version(type, requestedNames).equals(version))
          .orElse(false);
    }
  }

  /**
   * @param rejections rejections of resources that differ from the reference's, sorted by node;
   *     empty unless REJECTED
   * @param excused rejections of resources the reference holds too
   */
  record Verdict(Kind kind, List<Rejection> rejections, List<Rejection> excused) {

    Rejection firstRejection() {
      return rejections.get(0);
    }
  }

  /** How the Envoys without a rejected type stand against what their groups were sent. */
  enum Others {
    /** None that does not lag. */
    NONE_JUDGED,
    /** Every type of every one (not lagging) accepted. */
    ACCEPTED,
    /** Some type of one still to be answered. */
    PENDING
  }

  /**
   * The fleet in two parts, each Envoy in one, judged under its stream's monitor: the statuses of
   * those with a rejected type (sorted by node, as every status is), and how all the others stand.
   * While one Envoy keeps rejecting something (a listener on a port its host cannot bind), every
   * verdict needs the statuses of the few that reject, not the whole fleet's made and sorted.
   */
  record Split(List<ProxyStatus> rejecting, Others others) {}

  /** As {@link #of(Function, Function, List)}, every group sent the snapshot's view for it. */
  static Verdict of(
      ContentVersionedSnapshot snapshot,
      ContentVersionedSnapshot reference,
      List<ProxyStatus> proxies) {
    return of(snapshot::forGroup, reference::forGroup, proxies);
  }

  /**
   * @param sent what each group was sent of the snapshot published last: its zone's view of the
   *     fleet's, or a sidecar group's own ({@link SidecarSnapshots})
   * @param reference what each group was sent of the last configuration known to hold no rejected
   *     registration
   * @param proxies every connected Envoy; lagging ones (hung, paused, not reading) neither delay
   *     nor decide the verdict; none left means no verdict yet
   */
  static Verdict of(
      Function<String, ContentVersionedSnapshot> sent,
      Function<String, ContentVersionedSnapshot> reference,
      List<ProxyStatus> proxies) {
    return of(sent, reference, new Split(proxies, Others.NONE_JUDGED));
  }

  /**
   * As {@link #of(Function, Function, List)} on every Envoy's status, from the statuses of those
   * with a rejected type and how the others stand ({@link Split}).
   */
  static Verdict of(
      Function<String, ContentVersionedSnapshot> sent,
      Function<String, ContentVersionedSnapshot> reference,
      Split fleet) {
    List<ProxyStatus> proxies = fleet.rejecting();
    List<Rejection> rejections = new ArrayList<>();
    List<Rejection> excused = new ArrayList<>();
    boolean pending =
        switch (fleet.others()) {
          case NONE_JUDGED -> proxies.stream().allMatch(ProxyStatus::lagging);
          case ACCEPTED -> false;
          case PENDING -> true;
        };
    for (ProxyStatus proxy : proxies) {
      if (proxy.lagging()) {
        continue;
      }
      for (TypeStatus type : proxy.types().values()) {
        Optional<ResourceType> resourceType = XdsTypes.resourceType(type.typeUrl());
        if (resourceType.isEmpty()) {
          continue;
        }
        List<String> names = proxy.mode() == Mode.SOTW ? type.requestedNames() : List.of();
        String expected = sent.apply(proxy.group()).version(resourceType.get(), names);
        if (accepted(
            proxy.mode(),
            resourceType.get(),
            type.status(),
            type.versionAcked(),
            type.sentAt().isPresent(),
            expected)) {
          continue;
        }
        if (type.status() == SyncStatus.NACKED
            && type.lastNack().isPresent()
            && type.lastNack().get().version().equals(expected)) {
          Rejection rejection =
              new Rejection(
                  proxy.nodeId(),
                  proxy.group(),
                  type.typeUrl(),
                  names,
                  expected,
                  type.lastNack().get().errorDetail());
          (rejection.sameIn(reference) ? excused : rejections).add(rejection);
          continue;
        }
        pending = true;
      }
    }
    Kind kind = !rejections.isEmpty() ? Kind.REJECTED : pending ? Kind.PENDING : Kind.ACCEPTED;
    return new Verdict(kind, List.copyOf(rejections), List.copyOf(excused));
  }

  /**
   * Whether an Envoy holds what it was sent of one type: it acknowledged the {@code expected}
   * version; or, on a delta stream in sync, the type is endpoints (see the class comment), or
   * nothing was sent because it reconnected holding what it is to be sent.
   */
  static boolean accepted(
      Mode mode,
      ResourceType resourceType,
      SyncStatus status,
      String versionAcked,
      boolean sentAnything,
      String expected) {
    if (versionAcked.equals(expected)) {
      return true;
    }
    return mode == Mode.DELTA
        && status == SyncStatus.SYNCED
        && (resourceType == ResourceType.ENDPOINT || !sentAnything);
  }
}
