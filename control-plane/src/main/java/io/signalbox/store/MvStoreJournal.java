package io.signalbox.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

/**
 * The embedded journal: one H2 MVStore file in the data directory, one entry per live lease (lease
 * id → JSON, see {@link StoredLeaseCodec}). Every change is committed before the store acknowledges
 * it, so a crash of the process loses nothing that was acknowledged (the file is not fsynced: a
 * power loss may); {@link #close()} writes nothing, and so a clean stop is no different from a
 * crash.
 */
public final class MvStoreJournal implements RegistryJournal {

  /** The file in the data directory. */
  public static final String FILE_NAME = "registry.mv.db";

  /**
   * Bumped when the layout of the file (maps, keys) changes; each lease also carries its own format
   * version.
   */
  static final int LAYOUT_VERSION = 1;

  private static final String LEASES = "leases";
  private static final String META = "meta";
  private static final String LAYOUT = "layout";

  private final Path file;

  /** Replaced by {@link #rewrite} after a failure: MVStore closes itself when a write fails. */
  private MVStore store;

  private MVMap<String, byte[]> leases;

  /** The version last written to the committed-version file. */
  private long markedVersion = -1;

  /** The committed-version file, open once written to. */
  private FileChannel marker;

  private MvStoreJournal(Path file, MVStore store, boolean fileExisted) {
    this.file = file;
    this.store = store;
    try {
      MVMap<String, Integer> meta = store.openMap(META);
      Integer layout = meta.get(LAYOUT);
      // MVStore falls back to the newest chunk it can read, and opens an empty store when it can
      // read none: a file
      // that existed must hold at least the layout version written when it was created.
      if (layout == null && fileExisted) {
        throw new StoreUnreadableException(
            file,
            "the file holds no readable Signalbox registry (empty, damaged, or "
                + "not a Signalbox store); move it away to start with an empty registry",
            null);
      }
      if (layout != null && layout > LAYOUT_VERSION) {
        throw new StoreUnreadableException(
            file,
            "written in layout version "
                + layout
                + " by a newer Signalbox; "
                + "this one reads up to version "
                + LAYOUT_VERSION,
            null);
      }
      this.leases = store.openMap(LEASES);
      if (layout == null) {
        meta.put(LAYOUT, LAYOUT_VERSION);
        store.commit();
      }
    } catch (StoreUnreadableException e) {
      store.closeImmediately();
      throw e;
    } catch (RuntimeException e) {
      store.closeImmediately();
      throw new StoreUnreadableException(file, describe(e), e);
    }
  }

  /**
   * Opens (or creates) the journal in a data directory.
   *
   * @throws StoreUnreadableException when the directory or its file cannot be used; never starts
   *     empty instead
   */
  public static MvStoreJournal open(Path dataDirectory) {
    Path file = dataDirectory.resolve(FILE_NAME);
    try {
      if (!Files.exists(dataDirectory) && isPosix(dataDirectory)) {
        // Lease ids are credentials: the directory and file are the control plane's user's alone.
        Files.createDirectories(
            dataDirectory, PosixFilePermissions.asFileAttribute(OWNER_ONLY_DIRECTORY));
      } else {
        Files.createDirectories(dataDirectory);
      }
    } catch (IOException e) {
      throw new StoreUnreadableException(
          file, "cannot create the data directory " + dataDirectory + " (" + describe(e) + ")", e);
    }
    if (!Files.isReadable(dataDirectory)
        || !Files.isWritable(dataDirectory)
        || !Files.isExecutable(dataDirectory)) {
      throw new StoreUnreadableException(
          file,
          "the data directory " + dataDirectory + " is not readable and " + "writable by this user",
          null);
    }
    if (Files.exists(file) && !Files.isRegularFile(file)) {
      throw new StoreUnreadableException(file, "it is not a regular file", null);
    }
    if (Files.exists(file) && (!Files.isReadable(file) || !Files.isWritable(file))) {
      throw new StoreUnreadableException(
          file, "it is not readable and writable by this user", null);
    }
    // A file that exists must hold a registry, even when it is empty: a store never silently starts
    // empty.
    boolean fileExisted = Files.exists(file);
    MVStore store;
    try {
      store = new MVStore.Builder().fileName(file.toString()).autoCommitDisabled().open();
      // Free space is reused at once rather than after MVStore's default 45 s, which exists for
      // power loss with
      // reordered disk writes. Commits are not fsynced anyway (a killed process loses nothing
      // acknowledged, a
      // power loss may lose the last commits), and with the default a burst of 10,000 registrations
      // grew the file
      // to ~200 MB instead of ~30 MB.
      store.setRetentionTime(0);
    } catch (RuntimeException e) {
      throw new StoreUnreadableException(file, describe(e), e);
    }
    try {
      if (isPosix(file)) {
        Files.setPosixFilePermissions(file, OWNER_ONLY_FILE);
      }
    } catch (IOException e) {
      store.closeImmediately();
      throw new StoreUnreadableException(
          file, "cannot make it readable by its owner only (" + describe(e) + ")", e);
    }
    MvStoreJournal journal = new MvStoreJournal(file, store, fileExisted);
    journal.checkNotOlderThanCommitted();
    return journal;
  }

  @Override
  public List<StoredLease> load() {
    List<StoredLease> loaded = new ArrayList<>();
    try {
      for (Map.Entry<String, byte[]> entry : leases.entrySet()) {
        StoredLease lease;
        try {
          lease = StoredLeaseCodec.decode(entry.getValue());
        } catch (RuntimeException e) {
          throw new StoreUnreadableException(
              // Lease ids are credentials: the error names the entry's position, never its key.
              file, "lease entry " + (loaded.size() + 1) + ": " + e.getMessage(), e);
        }
        if (!lease.leaseId().equals(entry.getKey())) {
          throw new StoreUnreadableException(
              file,
              "lease entry "
                  + (loaded.size() + 1)
                  + " (service "
                  + lease.registration().service()
                  + ") is stored under another lease's id",
              null);
        }
        loaded.add(lease);
      }
    } catch (StoreUnreadableException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new StoreUnreadableException(file, describe(e), e);
    }
    return loaded;
  }

  @Override
  public void put(StoredLease lease) {
    leases.put(lease.leaseId(), StoredLeaseCodec.encode(lease));
  }

  @Override
  public void remove(String leaseId) {
    leases.remove(leaseId);
  }

  /**
   * One commit (one chunk written) for everything put or removed since the last; nothing when
   * nothing was.
   */
  @Override
  public void sync() {
    store.commit();
    long version = store.getCurrentVersion();
    if (version != markedVersion) {
      writeCommittedVersion(version);
      markedVersion = version;
    }
  }

  /**
   * MVStore opens a truncated file at the newest chunk it can still read, silently older than what
   * was acknowledged. The version committed last is kept beside the file, so such a file (or an
   * older copy put in its place) stops the start instead of serving an older registry.
   */
  private void checkNotOlderThanCommitted() {
    Path marker = committedVersionFile();
    if (!Files.exists(marker)) {
      return;
    }
    long committed;
    try {
      committed = Long.parseLong(Files.readString(marker).trim());
    } catch (IOException | NumberFormatException e) {
      store.closeImmediately();
      throw new StoreUnreadableException(
          file,
          "its committed-version file " + marker + " cannot be read (" + describe(e) + ")",
          e);
    }
    long found = store.getCurrentVersion();
    if (found < committed) {
      store.closeImmediately();
      throw new StoreUnreadableException(
          file,
          "it holds version "
              + found
              + " of the registry, but version "
              + committed
              + " was committed: the file was truncated or replaced by an older copy. Restore it, "
              + "move both files away to start empty, or delete "
              + marker
              + " to accept the older registry",
          null);
    }
    markedVersion = found;
  }

  /**
   * Overwrites the committed version in place: 20 digits at offset 0 of a file kept open, so a
   * commit costs one small positional write, not a file created and renamed.
   */
  private void writeCommittedVersion(long version) {
    Path path = committedVersionFile();
    try {
      if (marker == null) {
        marker = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        if (isPosix(path)) {
          Files.setPosixFilePermissions(path, OWNER_ONLY_FILE);
        }
      }
      marker.write(
          ByteBuffer.wrap(
              String.format("%020d", version).getBytes(java.nio.charset.StandardCharsets.US_ASCII)),
          0);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("cannot write " + path, e);
    }
  }

  private Path committedVersionFile() {
    return file.resolveSibling(FILE_NAME + ".version");
  }

  /**
   * Reopens the file (the failed store has closed itself) and makes it hold exactly {@code live}.
   */
  @Override
  public void rewrite(List<StoredLease> live) {
    store.closeImmediately();
    MvStoreJournal reopened = open(file.getParent());
    store = reopened.store;
    leases = reopened.leases;
    markedVersion = reopened.markedVersion;
    java.util.Set<String> keep = new java.util.HashSet<>();
    for (StoredLease lease : live) {
      keep.add(lease.leaseId());
      put(lease);
    }
    for (String leaseId : new ArrayList<>(leases.keySet())) {
      if (!keep.contains(leaseId)) {
        leases.remove(leaseId);
      }
    }
    sync();
  }

  public Path file() {
    return file;
  }

  /** Releases the file without writing: everything acknowledged is committed already. */
  @Override
  public void close() {
    store.closeImmediately();
    if (marker != null) {
      try {
        marker.close();
      } catch (IOException e) {
        // Nothing was pending: every write went to the file already.
      }
    }
  }

  private static final java.util.Set<PosixFilePermission> OWNER_ONLY_DIRECTORY =
      PosixFilePermissions.fromString("rwx------");
  private static final java.util.Set<PosixFilePermission> OWNER_ONLY_FILE =
      PosixFilePermissions.fromString("rw-------");

  private static boolean isPosix(Path path) {
    return path.getFileSystem().supportedFileAttributeViews().contains("posix");
  }

  private static String describe(Exception e) {
    String message = e.getMessage();
    return e.getClass().getSimpleName() + (message == null ? "" : ": " + message);
  }
}
