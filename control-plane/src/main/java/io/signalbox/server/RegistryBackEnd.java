package io.signalbox.server;

import io.signalbox.metrics.SignalboxMetrics;
import io.signalbox.model.RegistryQuotas;
import io.signalbox.store.EtcdRegistryStore;
import io.signalbox.store.InMemoryRegistryStore;
import io.signalbox.store.LeaseClock;
import io.signalbox.store.MvStoreJournal;
import io.signalbox.store.RegistryAdmin;
import io.signalbox.store.RegistryEngine;
import io.signalbox.store.RegistryJournal;
import io.signalbox.store.RegistryStore;
import java.io.IOException;
import java.time.Clock;
import java.util.function.Supplier;

/**
 * The registry's back end as {@link ControlPlane} opens it at start: etcd, which the replicas
 * share, or the embedded store restored from its journal ({@code --data-dir}, or none in memory).
 * Kept apart from the wiring because the two back ends are opened, named and closed differently.
 */
final class RegistryBackEnd implements AutoCloseable {

  private final RegistryJournal journal;
  private final RegistryEngine engine;
  private final InMemoryRegistryStore embedded;
  private final EtcdRegistryStore etcd;

  private RegistryBackEnd(
      RegistryJournal journal,
      RegistryEngine engine,
      InMemoryRegistryStore embedded,
      EtcdRegistryStore etcd) {
    this.journal = journal;
    this.engine = engine;
    this.embedded = embedded;
    this.etcd = etcd;
  }

  /**
   * Reads the whole registry: from etcd when {@code config} names it, else from the journal. What
   * this opened is closed again when it throws; the caller closes the rest.
   */
  static RegistryBackEnd open(
      ControlPlaneConfig config,
      LeaseClock leaseClock,
      Clock clock,
      Supplier<RegistryQuotas> quotas) {
    if (config.etcd().isPresent()) {
      EtcdRegistryStore etcd =
          EtcdRegistryStore.connect(
              config.etcd().get(),
              config.leasePolicy(),
              replicaName(config),
              config.leaseGrace(),
              quotas,
              clock);
      return new RegistryBackEnd(RegistryJournal.NONE, etcd.engine(), null, etcd);
    }
    RegistryJournal journal =
        config
            .dataDirectory()
            .<RegistryJournal>map(MvStoreJournal::open)
            .orElse(RegistryJournal.NONE);
    InMemoryRegistryStore embedded;
    try {
      embedded =
          InMemoryRegistryStore.restore(
              config.leasePolicy(), leaseClock, clock, journal, config.leaseGrace(), quotas);
    } catch (RuntimeException e) {
      journal.close();
      throw e;
    }
    return new RegistryBackEnd(journal, embedded.engine(), embedded, null);
  }

  /**
   * What the gateway is built from, admin views and quarantines: the registry itself, or etcd's
   * local copy.
   */
  RegistryEngine engine() {
    return engine;
  }

  /** Where registrations, keep-alives and expiry go: the embedded store, or etcd. */
  RegistryStore registry() {
    return etcd != null ? etcd : embedded;
  }

  /** What operators and the access revocation change the registry through. */
  RegistryAdmin admin() {
    return etcd != null ? etcd : embedded;
  }

  /** The embedded back end, when the registry is not in etcd; else null. */
  InMemoryRegistryStore embedded() {
    return embedded;
  }

  /** Gauges of the registry's size and, in etcd mode, of the replicas sharing it. */
  void bindMetrics(SignalboxMetrics metrics) {
    if (etcd != null) {
      metrics.bindEtcdReplicas(() -> etcd.presentReplicas().size(), etcd::removesExpiredLeases);
    }
    metrics.bindRegistry(engine::serviceCount, engine::instanceCount);
  }

  @Override
  public void close() {
    journal.close();
    if (etcd != null) {
      etcd.close();
    }
  }

  /**
   * Stable across restarts of this replica and distinct between replicas: host name and gRPC port.
   * A port chosen by the system (0) is not known yet and says nothing across restarts, so such a
   * replica gets a random name.
   */
  private static String replicaName(ControlPlaneConfig config) {
    String host;
    try {
      host = java.net.InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      host = config.grpcAddress();
    }
    return host
        + ":"
        + (config.grpcPort() != 0
            ? Integer.toString(config.grpcPort())
            : "any-" + java.util.UUID.randomUUID().toString().substring(0, 8));
  }
}
