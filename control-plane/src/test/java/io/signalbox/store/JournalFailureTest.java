package io.signalbox.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.signalbox.model.Instance;
import io.signalbox.model.Registration;
import io.signalbox.model.RegistryState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A disk that stops taking writes (full, read-only, failing): every change is refused with
 * UNAVAILABLE and leaves the registry as it was, instances already registered keep renewing, and
 * once the disk takes writes again the journal is rewritten to match memory.
 */
class JournalFailureTest {

  /** A journal in memory whose disk can be made to fail. */
  private static final class FlakyDisk implements RegistryJournal {
    final Map<String, StoredLease> committed = new LinkedHashMap<>();
    final List<Runnable> pending = new ArrayList<>();
    volatile boolean full;

    @Override
    public List<StoredLease> load() {
      return List.copyOf(committed.values());
    }

    @Override
    public void put(StoredLease lease) {
      pending.add(() -> committed.put(lease.leaseId(), lease));
    }

    @Override
    public void remove(String leaseId) {
      pending.add(() -> committed.remove(leaseId));
    }

    @Override
    public void sync() {
      if (full) {
        pending.clear();
        throw new IllegalStateException("No space left on device");
      }
      pending.forEach(Runnable::run);
      pending.clear();
    }

    @Override
    public void rewrite(List<StoredLease> live) {
      if (full) {
        throw new IllegalStateException("No space left on device");
      }
      committed.clear();
      live.forEach(lease -> committed.put(lease.leaseId(), lease));
    }

    @Override
    public void close() {}
  }

  private final AtomicLong now = new AtomicLong(1_000_000_000_000L);
  private final FlakyDisk disk = new FlakyDisk();
  private final InMemoryRegistryStore store =
      InMemoryRegistryStore.restore(LeasePolicy.DEFAULT, now::get, disk, Optional.empty());
  private final AtomicInteger changes = new AtomicInteger();

  {
    store.addChangeListener(changes::incrementAndGet);
  }

  private Lease register(String instance) {
    return store.register(
        new Registration("orders", Instance.of(instance, "10.0.0.1", 8080), List.of()),
        Optional.of(Duration.ofSeconds(10)));
  }

  @Test
  void aFailedWriteIsUnavailableAndChangesNothingWhileRenewalsGoOn() {
    Lease kept = register("orders-1");
    disk.full = true;
    RegistryState before = store.state();
    int changesBefore = changes.get();

    assertThatThrownBy(() -> register("orders-2"))
        .isInstanceOf(StoreUnavailableException.class)
        .hasMessageContaining(
            "cannot be written to disk (IllegalStateException: No space left on device)")
        .hasMessageContaining("nothing changed");
    assertThatThrownBy(() -> store.deregister(kept.id()))
        .isInstanceOf(StoreUnavailableException.class);
    assertThatThrownBy(() -> store.setDrained("orders", "orders-1", true, "op"))
        .isInstanceOf(StoreUnavailableException.class);

    assertThat(store.state()).isSameAs(before);
    assertThat(changes).hasValue(changesBefore);
    assertThat(store.journalHealthy()).isFalse();
    assertThat(store.renew(kept.id()))
        .as("an instance already registered keeps its lease")
        .isPresent();
    assertThat(store.registeredInstances())
        .singleElement()
        .satisfies(instance -> assertThat(instance.drained()).isFalse());
  }

  @Test
  void whenTheDiskTakesWritesAgainTheJournalIsRewrittenFromMemoryAndChangesAreAccepted() {
    Lease kept = register("orders-1");
    Lease expiring = register("orders-2");
    disk.full = true;
    assertThatThrownBy(() -> register("orders-3")).isInstanceOf(StoreUnavailableException.class);
    store.renew(kept.id());
    now.addAndGet(Duration.ofSeconds(6).toNanos());
    store.renew(kept.id());
    now.addAndGet(Duration.ofSeconds(6).toNanos());
    assertThat(store.expireLeases())
        .as("a dead instance leaves even while the disk fails")
        .isEqualTo(1);

    assertThat(store.recoverJournal()).as("still full").isFalse();
    disk.full = false;
    assertThat(store.recoverJournal()).isTrue();

    assertThat(store.journalHealthy()).isTrue();
    assertThat(disk.committed).containsOnlyKeys(kept.id()).doesNotContainKey(expiring.id());
    Lease added = register("orders-3");
    assertThat(disk.committed).containsOnlyKeys(kept.id(), added.id());
  }

  @Test
  void anEmptyStoreFileRefusesToStartInsteadOfStartingEmpty(@TempDir Path dataDirectory)
      throws IOException {
    Files.createFile(dataDirectory.resolve(MvStoreJournal.FILE_NAME));

    assertThatThrownBy(() -> MvStoreJournal.open(dataDirectory))
        .isInstanceOf(StoreUnreadableException.class)
        .hasMessageContaining("move it away to start with an empty registry");
  }

  @Test
  void aTruncatedStoreFileRefusesToStartInsteadOfServingAnOlderRegistry(@TempDir Path dataDirectory)
      throws IOException {
    Registration registration =
        new Registration("orders", Instance.of("o1", "10.0.0.1", 8080), List.of());
    java.time.Instant t = java.time.Instant.parse("2026-12-03T10:00:00Z");
    long sizeBeforeLastCommit;
    try (MvStoreJournal journal = MvStoreJournal.open(dataDirectory)) {
      for (int i = 0; i < 5; i++) {
        journal.put(
            new StoredLease(
                registration, "lease-" + i, i, Duration.ofSeconds(10), t, t, false, false));
        journal.sync();
      }
      sizeBeforeLastCommit = Files.size(journal.file());
      journal.put(
          new StoredLease(registration, "lease-5", 5, Duration.ofSeconds(10), t, t, false, false));
      journal.sync();
    }
    Path file = dataDirectory.resolve(MvStoreJournal.FILE_NAME);
    try (java.io.RandomAccessFile truncate = new java.io.RandomAccessFile(file.toFile(), "rw")) {
      truncate.setLength(sizeBeforeLastCommit + (Files.size(file) - sizeBeforeLastCommit) / 2);
    }

    assertThatThrownBy(() -> MvStoreJournal.open(dataDirectory))
        .isInstanceOf(StoreUnreadableException.class)
        .hasMessageContaining("the file was truncated or replaced by an older copy");
  }

  @Test
  void aStoreThatWasClosedCleanlyOpensAgainWithItsCommittedVersion(@TempDir Path dataDirectory) {
    Registration registration =
        new Registration("orders", Instance.of("o1", "10.0.0.1", 8080), List.of());
    java.time.Instant t = java.time.Instant.parse("2026-12-03T10:00:00Z");
    try (MvStoreJournal journal = MvStoreJournal.open(dataDirectory)) {
      journal.put(
          new StoredLease(registration, "lease", 1, Duration.ofSeconds(10), t, t, false, false));
      journal.sync();
    }

    try (MvStoreJournal again = MvStoreJournal.open(dataDirectory)) {
      assertThat(again.load()).extracting(StoredLease::leaseId).containsExactly("lease");
    }
  }

  @Test
  void theDataDirectoryAndStoreFileAreTheOwnersAlone(@TempDir Path parent) {
    Path dataDirectory = parent.resolve("data");

    try (MvStoreJournal journal = MvStoreJournal.open(dataDirectory)) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dataDirectory)))
          .isEqualTo("rwx------");
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(journal.file())))
          .isEqualTo("rw-------");
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void aReopenedMvStoreJournalHoldsExactlyWhatItWasRewrittenWith(@TempDir Path dataDirectory) {
    Registration registration =
        new Registration("orders", Instance.of("o1", "10.0.0.1", 8080), List.of());
    java.time.Instant t = java.time.Instant.parse("2026-12-03T10:00:00Z");
    StoredLease stale =
        new StoredLease(registration, "stale", 1, Duration.ofSeconds(10), t, t, false, false);
    StoredLease live =
        new StoredLease(registration, "live", 2, Duration.ofSeconds(10), t, t, false, false);
    try (MvStoreJournal journal = MvStoreJournal.open(dataDirectory)) {
      journal.put(stale);
      journal.sync();

      journal.rewrite(List.of(live));

      assertThat(journal.load()).extracting(StoredLease::leaseId).containsExactly("live");
    }
    try (MvStoreJournal again = MvStoreJournal.open(dataDirectory)) {
      assertThat(again.load()).extracting(StoredLease::leaseId).containsExactly("live");
    }
  }
}
