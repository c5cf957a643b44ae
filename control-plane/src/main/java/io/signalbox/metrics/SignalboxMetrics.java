package io.signalbox.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmInfoMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;

/**
 * Every meter Signalbox keeps, behind one method per event, so that each stage reports with one
 * line and knows nothing of Micrometer. Names are Micrometer's dotted names; the Prometheus names
 * ({@code signalbox_..._total}, {@code ..._seconds_bucket}) are listed in docs/metrics.md.
 *
 * <p>Every label value is known in advance (outcomes, the five resource types, node groups as
 * Envoys connect), so the series exist at zero from the start and a dashboard's rate() never misses
 * the first event.
 */
public final class SignalboxMetrics implements AutoCloseable {

  /** Prefix of every Signalbox meter; JVM and process meters keep Micrometer's names. */
  public static final String PREFIX = "signalbox";

  public enum RegistrationOutcome {
    OK,
    INVALID_ARGUMENT,
    ALREADY_EXISTS,
    PERMISSION_DENIED,
    RESOURCE_EXHAUSTED,
    UNAVAILABLE
  }

  /** What a translation of the registry gave. */
  public enum BuildResult {
    /** A snapshot with a new content version. */
    NEW,
    /**
     * The same content as the snapshot before (e.g. a registration that changed nothing Envoy
     * sees).
     */
    UNCHANGED,
    /** Refused by the consistency check, not published. */
    INCOMPLETE
  }

  /**
   * Why the built-in rate-limit service could not count a request; Envoy then applies the route's
   * failure mode.
   */
  public enum RateLimitRefusal {
    /** The counters' memory budget is spent on live windows and the request brings a new key. */
    COUNTERS_FULL,
    /** More descriptors or entries than Envoy sends for Signalbox's routes. */
    TOO_LARGE
  }

  /** From a handful of services (well under a millisecond) to tens of thousands of routes. */
  private static final Duration[] BUILD_DURATION_BUCKETS =
      millis(0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000);

  private final MeterRegistry registry;
  private final PrometheusMeterRegistry prometheus;
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private final Map<RegistrationOutcome, Counter> registrations = new ConcurrentHashMap<>();
  private final Counter leasesExpired;
  private final Counter leaseExpiryPauses;
  private final Counter leasesRevoked;
  private final Map<BuildResult, Counter> builds = new ConcurrentHashMap<>();
  private final Timer buildDuration;
  private final Counter snapshotsPublished;
  private final XdsMeters xds;
  private final Counter reloadsOk;
  private final Counter reloadsRejected;
  private final Counter rateLimitOk;
  private final Counter rateLimitOverLimit;
  private final Map<RateLimitRefusal, Counter> rateLimitRefusals = new ConcurrentHashMap<>();

  private SignalboxMetrics(MeterRegistry registry, PrometheusMeterRegistry prometheus) {
    this.registry = registry;
    this.prometheus = prometheus;
    for (RegistrationOutcome outcome : RegistrationOutcome.values()) {
      registrations.put(
          outcome,
          Counter.builder(name("registrations"))
              .description("Register calls, by outcome")
              .tag("outcome", label(outcome))
              .register(registry));
    }
    leasesExpired =
        Counter.builder(name("leases.expired"))
            .description("Instances removed because their lease ran out")
            .register(registry);
    leaseExpiryPauses =
        Counter.builder(name("lease.expiry.pauses"))
            .description("Times lease expiry paused because too many leases expired at once")
            .register(registry);
    leasesRevoked =
        Counter.builder(name("leases.revoked"))
            .description(
                "Instances deregistered because the access policy in force refuses their"
                    + " registration")
            .register(registry);
    for (BuildResult result : BuildResult.values()) {
      builds.put(
          result,
          Counter.builder(name("snapshot.builds"))
              .description("Translations of the registry into a snapshot, by result")
              .tag("result", label(result))
              .register(registry));
    }
    buildDuration =
        Timer.builder(name("snapshot.build.duration"))
            .description("Time to translate the registry and settings into a snapshot and check it")
            .serviceLevelObjectives(BUILD_DURATION_BUCKETS)
            .register(registry);
    snapshotsPublished =
        Counter.builder(name("snapshots.published"))
            .description("Snapshots with a new version handed to the node groups")
            .register(registry);
    reloadsOk = reloads("ok");
    reloadsRejected = reloads("rejected");
    rateLimitOk = rateLimitDecisions("ok");
    rateLimitOverLimit = rateLimitDecisions("over_limit");
    for (RateLimitRefusal reason : RateLimitRefusal.values()) {
      rateLimitRefusals.put(
          reason,
          Counter.builder(name("ratelimit.refused"))
              .description(
                  "Requests the built-in rate-limit service refused to count, by reason; Envoy applied the"
                      + " route's failure mode")
              .tag("reason", label(reason))
              .register(registry));
    }
    xds = new XdsMeters(registry);
  }

  /** Meters for a Prometheus scrape, with the JVM's and the process's. */
  public static SignalboxMetrics prometheus() {
    PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    SignalboxMetrics metrics = new SignalboxMetrics(prometheus, prometheus);
    JvmGcMetrics gc = new JvmGcMetrics();
    metrics.closeables.add(gc);
    for (MeterBinder binder :
        List.of(
            new JvmMemoryMetrics(),
            gc,
            new JvmThreadMetrics(),
            new ClassLoaderMetrics(),
            new JvmInfoMetrics(),
            new ProcessorMetrics(),
            new UptimeMetrics(),
            new FileDescriptorMetrics())) {
      binder.bindTo(prometheus);
    }
    return metrics;
  }

  /** Meters that nobody reads: for tests and tools that run parts of the pipeline on their own. */
  public static SignalboxMetrics noop() {
    return new SignalboxMetrics(new CompositeMeterRegistry(), null);
  }

  /** The Prometheus text exposition of every meter; empty for {@link #noop()}. */
  public String scrape() {
    return prometheus == null ? "" : prometheus.scrape();
  }

  public MeterRegistry registry() {
    return registry;
  }

  // Gauges, bound once when the control plane is assembled.

  /**
   * Services and instances with a live lease (drained ones included), read on every scrape: counts,
   * not a listing of the registry.
   */
  public void bindRegistry(
      java.util.function.IntSupplier services, java.util.function.IntSupplier instances) {
    Gauge.builder(name("registry.services"), services::getAsInt)
        .description("Services with at least one live lease")
        .register(registry);
    Gauge.builder(name("registry.instances"), instances::getAsInt)
        .description("Instances with a live lease, drained ones included")
        .register(registry);
  }

  /** 1 while an operator has paused pushes, else 0. */
  public void bindPushesPaused(BooleanSupplier paused) {
    Gauge.builder(name("pushes.paused"), () -> paused.getAsBoolean() ? 1 : 0)
        .description("1 while an operator has paused pushes")
        .register(registry);
  }

  /** 1 while a stopped policy handover holds every group's publications, else 0. */
  public void bindHandoverHeld(BooleanSupplier held) {
    Gauge.builder(name("policy.handover.held"), () -> held.getAsBoolean() ? 1 : 0)
        .description(
            "1 while a policy handover that stopped holds publishing until a publication goes"
                + " through")
        .register(registry);
  }

  /** 1 while lease expiry is held back because too many leases expired at once, else 0. */
  public void bindLeaseExpiryPaused(BooleanSupplier paused) {
    Gauge.builder(name("lease.expiry.paused"), () -> paused.getAsBoolean() ? 1 : 0)
        .description("1 while lease expiry is paused because too many leases expired at once")
        .register(registry);
  }

  /**
   * etcd mode: how many replicas have their presence mark in etcd (this one included), and whether
   * this replica is the one that removes expired leases. Alert when the count drops, or when no
   * replica reports 1.
   */
  public void bindEtcdReplicas(
      java.util.function.IntSupplier present, BooleanSupplier removesExpiredLeases) {
    Gauge.builder(name("etcd.replicas.present"), present::getAsInt)
        .description("Control-plane replicas whose presence mark is in etcd, this one included")
        .register(registry);
    Gauge.builder(name("lease.expiry.leader"), () -> removesExpiredLeases.getAsBoolean() ? 1 : 0)
        .description("1 on the replica that removes expired leases (etcd mode), else 0")
        .register(registry);
  }

  // Events.

  /** Expiry (epoch seconds) of each mesh identity's current workload certificate. */
  private final java.util.Map<String, java.util.concurrent.atomic.AtomicLong> certificateExpiry =
      new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * A workload certificate was issued to {@code identity} (a SPIFFE ID; one per sidecar service and
   * edge fleet, so as many as the registry has services at most), valid until {@code notAfter}.
   */
  public void meshCertificateIssued(String identity, java.time.Instant notAfter) {
    certificateExpiry
        .computeIfAbsent(
            identity,
            id -> {
              java.util.concurrent.atomic.AtomicLong expiry =
                  new java.util.concurrent.atomic.AtomicLong();
              Gauge.builder(
                      name("mesh.certificate.expiry"),
                      expiry,
                      java.util.concurrent.atomic.AtomicLong::get)
                  .description(
                      "When the current workload certificate of a mesh identity expires, in seconds"
                          + " since the epoch")
                  .baseUnit("seconds")
                  .tag("identity", id)
                  .register(registry);
              return expiry;
            })
        .set(notAfter.getEpochSecond());
  }

  /** The workload certificate of {@code identity} is no longer kept: its series goes. */
  public void meshCertificateRetired(String identity) {
    certificateExpiry.computeIfPresent(
        identity,
        (id, expiry) -> {
          registry.find(name("mesh.certificate.expiry")).tag("identity", id).meters().stream()
              .forEach(registry::remove);
          return null;
        });
  }

  public void registration(RegistrationOutcome outcome) {
    registrations.get(outcome).increment();
  }

  public void leasesExpired(int count) {
    leasesExpired.increment(count);
  }

  public void leasesRevoked(int count) {
    leasesRevoked.increment(count);
  }

  public void leaseExpiryPaused() {
    leaseExpiryPauses.increment();
  }

  public void snapshotBuilt(BuildResult result, long durationNanos) {
    builds.get(result).increment();
    buildDuration.record(durationNanos, TimeUnit.NANOSECONDS);
  }

  public void snapshotPublished() {
    snapshotsPublished.increment();
  }

  /** A response (SotW or delta) sent on an xDS stream. */
  public void pushed(String typeUrl) {
    xds.pushed(typeUrl);
  }

  public void nacked(String typeUrl) {
    xds.nacked(typeUrl);
  }

  /** Envoy acknowledged a response {@code latency} after it was sent. */
  public void acked(String typeUrl, Duration latency) {
    xds.acked(typeUrl, latency);
  }

  /**
   * An Envoy of {@code group} opened an xDS stream; {@code openStreams}: how many the group has,
   * read by its gauge (the xDS server's count, so the two never drift apart).
   */
  public void proxyConnected(String group, IntSupplier openStreams) {
    xds.proxyConnected(group, openStreams);
  }

  /**
   * The control plane forgot {@code group}, whose Envoys have all gone: its series go (groups come
   * and go with services and zones, and each kept three series at 0 for good), unless an Envoy of
   * it connected meanwhile.
   */
  public void groupForgotten(String group) {
    xds.groupForgotten(group);
  }

  /**
   * The xDS streams that lag now, by node group (see {@code ProxyStatusTracker#laggingStreams});
   * groups left out have none.
   */
  public void laggingStreams(Map<String, Integer> byGroup) {
    xds.laggingStreams(byGroup);
  }

  /** The control plane ended an xDS stream of {@code group} that lagged for too long. */
  public void streamCutOff(String group) {
    xds.streamCutOff(group);
  }

  /** The settings file changed and was loaded ({@code accepted}) or rejected as a whole. */
  public void settingsReload(boolean accepted) {
    (accepted ? reloadsOk : reloadsRejected).increment();
  }

  /** The built-in rate-limit service answered a request. */
  public void rateLimitDecision(boolean overLimit) {
    (overLimit ? rateLimitOverLimit : rateLimitOk).increment();
  }

  /** The built-in rate-limit service answered a request with an error instead of a decision. */
  public void rateLimitRefused(RateLimitRefusal reason) {
    rateLimitRefusals.get(reason).increment();
  }

  @Override
  public void close() {
    for (AutoCloseable closeable : closeables) {
      try {
        closeable.close();
      } catch (Exception ignored) {
        // Only listeners on the JVM's GC notifications; nothing to recover.
      }
    }
    registry.close();
  }

  private Counter reloads(String result) {
    return Counter.builder(name("settings.reloads"))
        .description("Reloads of the gateway settings file, by result")
        .tag("result", result)
        .register(registry);
  }

  private Counter rateLimitDecisions(String decision) {
    return Counter.builder(name("ratelimit.decisions"))
        .description("Requests answered by the built-in rate-limit service, by overall decision")
        .tag("decision", decision)
        .register(registry);
  }

  static String name(String suffix) {
    return PREFIX + "." + suffix;
  }

  private static String label(Enum<?> value) {
    return value.name().toLowerCase(Locale.ROOT);
  }

  static Duration[] millis(double... values) {
    Duration[] durations = new Duration[values.length];
    for (int i = 0; i < values.length; i++) {
      durations[i] = Duration.ofNanos((long) (values[i] * 1_000_000));
    }
    return durations;
  }
}
