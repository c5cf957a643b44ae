package io.signalbox.store;

import java.util.List;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The store's writes to its journal, and what happens when the disk fails. A change is committed
 * before it is acknowledged or seen (registrations made together are committed together and undone
 * in memory if the commit fails), so a failed write leaves the registry as it was and the caller
 * gets UNAVAILABLE (which clients retry). After a failure every write is refused at once, the
 * registry reports NOT_SERVING, renewals go on in memory (instances keep serving), and {@link
 * #recover} rewrites the journal from memory once the disk takes writes again. Called under the
 * store's lock.
 */
final class JournalWrites {

  private static final Logger log = LoggerFactory.getLogger(JournalWrites.class);

  private final RegistryJournal journal;
  private volatile String failure;

  JournalWrites(RegistryJournal journal) {
    this.journal = journal;
  }

  /**
   * Makes {@code changes} durable, or throws.
   *
   * @throws StoreUnavailableException when the journal failed now or before; nothing was written
   *     then
   */
  void commit(Consumer<RegistryJournal> changes) {
    write(changes);
    sync();
  }

  /**
   * Hands {@code changes} to the journal without making them durable: {@link #sync()} does, for
   * every change written since the last.
   *
   * @throws StoreUnavailableException when the journal failed now or before
   */
  void write(Consumer<RegistryJournal> changes) {
    refuseIfFailed();
    try {
      changes.accept(journal);
    } catch (RuntimeException e) {
      throw failed(e);
    }
  }

  /**
   * Makes every change written so far durable, or throws.
   *
   * @throws StoreUnavailableException when the journal failed now or before; none of the changes
   *     written since the last sync may be relied on then
   */
  void sync() {
    refuseIfFailed();
    try {
      journal.sync();
    } catch (RuntimeException e) {
      throw failed(e);
    }
  }

  private void refuseIfFailed() {
    String failed = failure;
    if (failed != null) {
      throw new StoreUnavailableException(
          "the registry cannot be written to disk ("
              + failed
              + "); nothing "
              + "changed, retry later",
          null);
    }
  }

  private StoreUnavailableException failed(RuntimeException e) {
    failure = describe(e);
    log.error(
        "Writing the registry to disk failed: {}. Registrations and removals are refused (UNAVAILABLE) and "
            + "the registry reports NOT_SERVING until writes succeed again; instances already registered keep "
            + "serving",
        failure,
        e);
    return new StoreUnavailableException(
        "the registry cannot be written to disk (" + failure + "); nothing changed, retry later",
        e);
  }

  /**
   * Removals that must happen even when the disk fails (expiry): written when possible, else at
   * recovery.
   */
  void commitIfHealthy(Consumer<RegistryJournal> changes) {
    if (failure == null) {
      try {
        commit(changes);
      } catch (StoreUnavailableException e) {
        // Logged by commit; the removal stands in memory and recovery rewrites the journal to
        // match.
      }
    }
  }

  boolean healthy() {
    return failure == null;
  }

  /**
   * After a failure, rewrites the journal to hold exactly {@code live}; healthy again when that
   * succeeds.
   *
   * @return whether the journal is healthy now
   */
  boolean recover(Supplier<List<StoredLease>> live) {
    if (failure == null) {
      return true;
    }
    try {
      journal.rewrite(live.get());
    } catch (RuntimeException e) {
      log.debug("The registry's disk still fails: {}", describe(e));
      return false;
    }
    log.warn(
        "The registry is written to disk again (recovered from: {}); registrations are accepted",
        failure);
    failure = null;
    return true;
  }

  private static String describe(Exception e) {
    return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
  }
}
