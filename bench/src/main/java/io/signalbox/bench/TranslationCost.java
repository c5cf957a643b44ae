package io.signalbox.bench;

import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.signalbox.config.GatewaySettings;
import io.signalbox.model.Instance;
import io.signalbox.model.MeshPolicy;
import io.signalbox.model.PathMatch;
import io.signalbox.model.RegistryState;
import io.signalbox.model.RouteSpec;
import io.signalbox.model.ServiceChangeLog;
import io.signalbox.model.ServiceState;
import io.signalbox.model.TrafficPolicy;
import io.signalbox.model.UpstreamProtocol;
import io.signalbox.translate.GatewayTranslator;
import io.signalbox.translate.PolicyHandover;
import io.signalbox.translate.XdsResources;
import io.signalbox.xds.ContentVersionedSnapshot;
import io.signalbox.xds.SidecarPublicationCost;
import io.signalbox.xds.SnapshotHistory;
import io.signalbox.xds.StagingCost;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.pcollections.PSortedMap;
import org.pcollections.TreePMap;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The control plane's own work for one change, in process: the registry state, translation,
 * versioning, the completeness check, the policy handover check, the staging of the change
 * (make-before-break, planned for one node group), the snapshots of {@code --sidecars} services'
 * sidecars (each with its application on port 8080, naming no callees) and the history entry, for
 * an instance change (one ClusterLoadAssignment changes), a route change (the shared
 * RouteConfiguration changes) and a new service (a cluster, its endpoints and a route added: the
 * registry grows by one service per change), with N services of 3 instances each. No network, no
 * Envoy: what the pipeline thread spends before the cache answers watches.
 */
@Command(
    name = "translate",
    aliases = "TranslationCost",
    mixinStandardHelpOptions = true,
    description = "Per-change cost of state + translation + versioning at N services, in process.")
final class TranslationCost implements Callable<Integer> {

  @Option(
      names = "--services",
      split = ",",
      defaultValue = "100,2000,10000",
      description = "Registry sizes. Default: ${DEFAULT-VALUE}")
  List<Integer> sizes;

  @Option(
      names = "--changes",
      defaultValue = "500",
      description = "Measured changes per kind and size. Default: ${DEFAULT-VALUE}")
  int changes;

  @Option(
      names = "--warmup",
      defaultValue = "300",
      description = "Changes first made and discarded. Default: ${DEFAULT-VALUE}")
  int warmup;

  @Option(
      names = "--no-change-log",
      description =
          "Make the states without the store's change log, so the history and the policy handover"
              + " compare every service (the cost before the log, for comparison).")
  boolean noChangeLog;

  private static final String[] STEPS = {
    "state",
    "translate",
    "version",
    "consistency",
    "handover",
    "stage",
    "sidecars",
    "history",
    "total"
  };

  @Option(
      names = "--sidecars",
      defaultValue = "0",
      description =
          "Services (the first N) whose instances sit behind sidecars (naming --calls callees): their"
              + " sidecar snapshots are made per change too (column sidecars). Default:"
              + " ${DEFAULT-VALUE}")
  int sidecars;

  @Option(
      names = "--calls",
      defaultValue = "0",
      description =
          "Callees each service behind sidecars names (the next N services), scoping its sidecars"
              + " to them; 0: they name none. Default: ${DEFAULT-VALUE}")
  int calls;

  /** What each measured change does to the registry. */
  private enum Change {
    /** An instance's port: one ClusterLoadAssignment changes. */
    INSTANCE,
    /** A route's path: the shared RouteConfiguration changes. */
    ROUTE,
    /** A new service: a cluster, its endpoints and a route are added (staged: added first). */
    SERVICE
  }

  @Override
  public Integer call() throws Exception {
    System.out.println("TranslationCost: " + Jvm.describeHost());
    List<String> header = new ArrayList<>(List.of("services", "change"));
    header.addAll(List.of(STEPS));
    header.addAll(List.of("total p99", "RouteConfiguration bytes"));
    ResultTable table =
        new ResultTable(
            String.format(
                "Control plane's own work per change, mean ms over %d changes (after %d warmup)%s",
                changes, warmup, noChangeLog ? ", states without the change log" : ""),
            header.toArray(String[]::new));
    for (int size : sizes) {
      for (Change change : Change.values()) {
        Stats[] stats = run(size, change);
        List<Object> row = new ArrayList<>(List.of(size, change.name().toLowerCase(Locale.ROOT)));
        for (Stats step : stats) {
          row.add(Stats.ms(step.meanMs()));
        }
        row.add(Stats.ms(stats[stats.length - 1].percentileMs(99)));
        row.add(routeBytes);
        table.row(row.toArray());
      }
    }
    table.print(System.out);
    return 0;
  }

  private int routeBytes;

  private Stats[] run(int size, Change kind) throws Exception {
    // Persistent, as the store keeps it: a revision's state shares the map instead of copying it.
    PSortedMap<String, ServiceState> services = TreePMap.empty();
    for (int i = 0; i < size; i++) {
      String name = "svc-" + i;
      services = services.plus(name, service(name, "/" + name, 8080, i < sidecars, size));
    }
    List<String> sidecared = new ArrayList<>();
    for (int i = 0; i < Math.min(sidecars, size); i++) {
      sidecared.add("svc-" + i);
    }
    SidecarPublicationCost sidecarSnapshots = new SidecarPublicationCost();
    GatewaySettings settings = GatewaySettings.plaintext("127.0.0.1", 10000);
    GatewayTranslator translator = new GatewayTranslator();
    SnapshotHistory history = new SnapshotHistory(SnapshotHistory.DEFAULT_CAPACITY);
    // As the store makes them: each revision's state carries the change log naming the service it
    // changed, by which the history and the policy handover compare two states.
    ServiceChangeLog changeLog = noChangeLog ? null : ServiceChangeLog.of(new Object());
    RegistryState before = new RegistryState(0, services, null, changeLog);
    ContentVersionedSnapshot built =
        ContentVersionedSnapshot.of(translator.translate(before, settings));
    Stats[] stats = new Stats[STEPS.length];
    for (int i = 0; i < stats.length; i++) {
      stats[i] = new Stats();
    }
    for (int c = 0; c < warmup + changes; c++) {
      String name = kind == Change.SERVICE ? "new-" + c : "svc-" + (c * 7919 % size);
      services =
          services.plus(
              name,
              switch (kind) {
                case INSTANCE ->
                    service(name, "/" + name, 9000 + c % 1000, sidecared.contains(name), size);
                case ROUTE ->
                    service(name, "/" + name + "/v" + c, 8080, sidecared.contains(name), size);
                case SERVICE -> service(name, "/" + name, 8080, false, size);
              });
      long t0 = System.nanoTime();
      changeLog = noChangeLog ? null : changeLog.append(c + 1, name);
      RegistryState state = new RegistryState(c + 1, services, null, changeLog);
      long t1 = System.nanoTime();
      XdsResources resources = translator.translate(state, settings);
      long t2 = System.nanoTime();
      ContentVersionedSnapshot snapshot = ContentVersionedSnapshot.of(resources, built);
      long t3 = System.nanoTime();
      snapshot.ensureConsistentAfter(built);
      long t4 = System.nanoTime();
      PolicyHandover.between(before, state);
      long t5 = System.nanoTime();
      StagingCost.plan(built, snapshot);
      long t6 = System.nanoTime();
      sidecarSnapshots.make(sidecared, snapshot, state, settings);
      long t7 = System.nanoTime();
      history.record(snapshot, before, state, false, Instant.now());
      long t8 = System.nanoTime();
      if (c >= warmup) {
        long[] times = {
          t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5, t7 - t6, t8 - t7, t8 - t0
        };
        for (int i = 0; i < times.length; i++) {
          stats[i].add(times[i]);
        }
      }
      built = snapshot;
      before = state;
    }
    routeBytes =
        built.resources().routes().stream().mapToInt(RouteConfiguration::getSerializedSize).sum();
    return stats;
  }

  private ServiceState service(String name, String prefix, int port, boolean sidecar, int size) {
    List<Instance> instances = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      String address = "10.0." + (i % 250) + ".1";
      instances.add(
          new Instance(
              name + "-" + i, address, address, port, "", 1, Map.of(), sidecar ? 8080 : 0));
    }
    List<String> callees = new ArrayList<>();
    if (sidecar && name.startsWith("svc-")) {
      int index = Integer.parseInt(name.substring("svc-".length()));
      for (int k = 1; k <= calls; k++) {
        callees.add("svc-" + (index + k) % size);
      }
    }
    return new ServiceState(
        name,
        List.of(RouteSpec.builder(PathMatch.prefix(prefix)).build()),
        instances,
        UpstreamProtocol.HTTP1,
        TrafficPolicy.DEFAULT,
        null,
        new MeshPolicy(List.of(), callees));
  }
}
