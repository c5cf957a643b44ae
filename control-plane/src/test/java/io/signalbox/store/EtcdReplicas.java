package io.signalbox.store;

import io.signalbox.model.RegistryQuotas;
import io.signalbox.testing.EtcdProcess;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Control-plane replicas' stores on one real etcd, each through a {@link SeverableEtcdClient} so
 * that a test can end its watch; all closed with the fixture.
 */
final class EtcdReplicas implements AutoCloseable {

  private final EtcdProcess etcd;
  private final Duration timeout;

  /** Every replica running, with the client it reaches etcd through, in the order started. */
  private final Map<EtcdRegistryStore, SeverableEtcdClient> clients = new LinkedHashMap<>();

  private int replicas;

  EtcdReplicas(EtcdProcess etcd, Duration timeout) {
    this.etcd = etcd;
    this.timeout = timeout;
  }

  /** A replica named {@code replica-N}. */
  EtcdRegistryStore replica() {
    return replica("replica-" + ++replicas);
  }

  EtcdRegistryStore replica(String name) {
    return replica(name, EtcdRegistryFeed.READ_PAGE_SIZE);
  }

  /** A replica that reads the registry whole {@code readPageSize} keys at a time. */
  EtcdRegistryStore replica(String name, int readPageSize) {
    SeverableEtcdClient client =
        new SeverableEtcdClient(
            EtcdClients.open(EtcdConnection.plaintext(List.of(etcd.endpoint()), timeout)));
    EtcdRegistryStore store =
        EtcdRegistryStore.connect(
            client,
            timeout,
            LeasePolicy.DEFAULT,
            name,
            Optional.empty(),
            () -> RegistryQuotas.DEFAULT,
            readPageSize,
            Clock.systemUTC());
    clients.put(store, client);
    return store;
  }

  /** The client {@code replica} reaches etcd through, whose watches the test may end. */
  SeverableEtcdClient client(EtcdRegistryStore replica) {
    return clients.get(replica);
  }

  /** Stops {@code replica}, as a control plane that shuts down. */
  void stop(EtcdRegistryStore replica) {
    clients.remove(replica);
    replica.close();
  }

  @Override
  public void close() {
    clients.keySet().forEach(EtcdRegistryStore::close);
    clients.clear();
  }
}
