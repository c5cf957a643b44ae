package io.signalbox.ca;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Writes PEM files the way readers that re-read them (the control plane's TLS reloading, the SDK,
 * Envoy's SDS) need: to a temporary file first, then moved into place, so a reader never sees half
 * a file; a private key is owner-only (0600) from the moment it exists, a certificate 0644.
 */
final class PemFiles {

  /** Who may read a file. */
  enum Access {
    OWNER_ONLY("rw-------"),
    READABLE("rw-r--r--");

    private final String permissions;

    Access(String permissions) {
      this.permissions = permissions;
    }
  }

  private PemFiles() {}

  static void write(Path file, String content, Access access) {
    Path parent = file.toAbsolutePath().getParent();
    Path temporary = null;
    try {
      // Files.createTempFile makes the file owner-only on POSIX: a key is never readable by others,
      // not even for a
      // moment.
      temporary = Files.createTempFile(parent, "." + file.getFileName(), ".tmp");
      Files.writeString(temporary, content, StandardCharsets.US_ASCII);
      if (posix(parent)) {
        Files.setPosixFilePermissions(
            temporary, PosixFilePermissions.fromString(access.permissions));
      }
      Files.move(
          temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      deleteQuietly(temporary);
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }

  /** Makes a directory owner-only (0700), where the file system has POSIX permissions. */
  static void makePrivate(Path directory) throws IOException {
    if (posix(directory)) {
      Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwx------"));
    }
  }

  private static boolean posix(Path path) {
    return Files.getFileAttributeView(path, PosixFileAttributeView.class) != null;
  }

  private static void deleteQuietly(Path file) {
    if (file == null) {
      return;
    }
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      // The write failed already; that is the error worth reporting.
    }
  }
}
