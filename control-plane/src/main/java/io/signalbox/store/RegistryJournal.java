package io.signalbox.store;

import java.util.List;

/**
 * Where the store writes every live registration before it acknowledges a change, and reads them
 * back at start. Writes happen under the store's lock, in the order of the changes.
 */
public interface RegistryJournal extends AutoCloseable {

  /**
   * Keeps nothing: the registry lives in memory only (tests, and runs without a data directory).
   */
  RegistryJournal NONE =
      new RegistryJournal() {
        @Override
        public List<StoredLease> load() {
          return List.of();
        }

        @Override
        public void put(StoredLease lease) {}

        @Override
        public void remove(String leaseId) {}

        @Override
        public void sync() {}

        @Override
        public void rewrite(List<StoredLease> live) {}

        @Override
        public void close() {}
      };

  /**
   * Every stored lease, in any order.
   *
   * @throws StoreUnreadableException when the stored data cannot be read completely
   */
  List<StoredLease> load();

  /** Stores or replaces a lease; durable once {@link #sync()} returns. */
  void put(StoredLease lease);

  /** Forgets a lease; durable once {@link #sync()} returns. */
  void remove(String leaseId);

  /**
   * Makes every put and remove made so far durable; called under the store's lock before a change
   * is acknowledged or seen (registrations made together share one sync, see {@code
   * RegistryEngine#register}).
   */
  void sync();

  /**
   * After a failed write: makes the journal hold exactly {@code live}, durably, reopening its file
   * if it must.
   *
   * @throws RuntimeException when the disk still fails
   */
  void rewrite(List<StoredLease> live);

  @Override
  void close();
}
