package io.signalbox.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.signalbox.envoy.XdsTypes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.IntSupplier;

/**
 * The xDS meters behind {@link SignalboxMetrics}: responses pushed, NACKed and ACKed by resource
 * type, and Envoys connected, lagging and cut off by node group. They are kept apart because the
 * node-group series come and go with the groups, which no other meter does.
 */
final class XdsMeters {

  /** Type label of responses of a type Signalbox does not serve. */
  static final String OTHER_TYPE = "other";

  /** From sub-millisecond loopback answers to an Envoy that is busy draining or starved of CPU. */
  private static final Duration[] ACK_LATENCY_BUCKETS =
      SignalboxMetrics.millis(
          1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000);

  private final MeterRegistry registry;
  private final Map<String, Counter> pushes = new ConcurrentHashMap<>();
  private final Map<String, Counter> nacks = new ConcurrentHashMap<>();
  private final Map<String, Timer> ackLatency = new ConcurrentHashMap<>();

  /** The open streams of each group with series, as the xDS server counts them. */
  private final Map<String, IntSupplier> connectedProxies = new ConcurrentHashMap<>();

  private final Map<String, AtomicInteger> laggingStreams = new ConcurrentHashMap<>();
  private final Map<String, Counter> cutOffs = new ConcurrentHashMap<>();

  /** Registers the per-type meters of the five resource types, at zero. */
  XdsMeters(MeterRegistry registry) {
    this.registry = registry;
    for (var type : XdsTypes.ALL) {
      String url = XdsTypes.typeUrl(type);
      pushCounter(url);
      nackCounter(url);
      ackTimer(url);
    }
  }

  void pushed(String typeUrl) {
    pushCounter(typeUrl).increment();
  }

  void nacked(String typeUrl) {
    nackCounter(typeUrl).increment();
  }

  void acked(String typeUrl, Duration latency) {
    ackTimer(typeUrl).record(latency);
  }

  void proxyConnected(String group, IntSupplier openStreams) {
    // Inside the map's compute, so that a group being forgotten meanwhile either sees the Envoy or
    // is made again for it (groupForgotten).
    connectedProxies.compute(
        group,
        (g, streams) -> {
          if (streams != null) {
            return streams;
          }
          proxiesGauge(g, openStreams);
          // At zero from the group's first Envoy, so that rate() and increase() see the first
          // event.
          laggingGauge(g);
          cutOffCounter(g);
          return openStreams;
        });
  }

  void groupForgotten(String group) {
    connectedProxies.computeIfPresent(
        group,
        (g, streams) -> {
          if (streams.getAsInt() != 0) {
            return streams;
          }
          List<Meter> series = new ArrayList<>();
          series.addAll(registry.find(name("xds.connected.proxies")).tag("group", g).meters());
          series.addAll(registry.find(name("xds.lagging.streams")).tag("group", g).meters());
          series.addAll(registry.find(name("xds.streams.cut.off")).tag("group", g).meters());
          series.forEach(registry::remove);
          laggingStreams.remove(g);
          cutOffs.remove(g);
          return null;
        });
  }

  void laggingStreams(Map<String, Integer> byGroup) {
    // Only for groups with Envoys counted: a group forgotten meanwhile gets no series again.
    byGroup
        .keySet()
        .forEach(
            group ->
                connectedProxies.computeIfPresent(
                    group,
                    (g, streams) -> {
                      laggingGauge(g);
                      return streams;
                    }));
    laggingStreams.forEach((group, count) -> count.set(byGroup.getOrDefault(group, 0)));
  }

  void streamCutOff(String group) {
    cutOffCounter(group).increment();
  }

  private Counter cutOffCounter(String group) {
    return cutOffs.computeIfAbsent(
        group,
        g ->
            Counter.builder(name("xds.streams.cut.off"))
                .description(
                    "xDS streams ended because a response went unanswered for the cut-off "
                        + "time, by node group")
                .tag("group", g)
                .register(registry));
  }

  private AtomicInteger laggingGauge(String group) {
    return laggingStreams.computeIfAbsent(
        group,
        g -> {
          AtomicInteger count = new AtomicInteger();
          Gauge.builder(name("xds.lagging.streams"), count, AtomicInteger::get)
              .description(
                  "xDS streams with a response unanswered for longer than the lag limit, by node "
                      + "group; they hold no staged change back")
              .tag("group", g)
              .strongReference(true)
              .register(registry);
          return count;
        });
  }

  private Counter pushCounter(String typeUrl) {
    return perType(
        pushes,
        typeUrl,
        type ->
            Counter.builder(name("xds.pushes"))
                .description("xDS responses sent to Envoys, by resource type")
                .tag("type", type)
                .register(registry));
  }

  private Counter nackCounter(String typeUrl) {
    return perType(
        nacks,
        typeUrl,
        type ->
            Counter.builder(name("xds.nacks"))
                .description("xDS responses Envoys rejected, by resource type")
                .tag("type", type)
                .register(registry));
  }

  private Timer ackTimer(String typeUrl) {
    return perType(
        ackLatency,
        typeUrl,
        type ->
            Timer.builder(name("xds.ack.latency"))
                .description(
                    "Time from an xDS response being sent to the Envoy's ACK of it, by resource type")
                .tag("type", type)
                .serviceLevelObjectives(ACK_LATENCY_BUCKETS)
                .register(registry));
  }

  private void proxiesGauge(String group, IntSupplier openStreams) {
    Gauge.builder(name("xds.connected.proxies"), openStreams, IntSupplier::getAsInt)
        .description("Envoys with an open xDS stream, by node group")
        .tag("group", group)
        .strongReference(true)
        .register(registry);
  }

  /**
   * Keyed by type URL; the label is the short name, so an unknown type adds one series, not one per
   * URL.
   */
  private static <M> M perType(Map<String, M> meters, String typeUrl, Function<String, M> create) {
    M meter = meters.get(typeUrl);
    return meter != null
        ? meter
        : meters.computeIfAbsent(typeUrl, url -> create.apply(typeLabel(url)));
  }

  static String typeLabel(String typeUrl) {
    return XdsTypes.ALL.stream()
        .filter(t -> XdsTypes.typeUrl(t).equals(typeUrl))
        .findFirst()
        .map(XdsTypes::shortName)
        .orElse(OTHER_TYPE);
  }

  private static String name(String suffix) {
    return SignalboxMetrics.name(suffix);
  }
}
