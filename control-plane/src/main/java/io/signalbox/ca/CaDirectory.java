package io.signalbox.ca;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Objects;

/**
 * The files of a {@link CertificateAuthority}: {@code ca.pem} (the certificate every peer trusts)
 * and {@code ca-key.pem} (its key, owner-only), and {@code NAME.pem} / {@code NAME-key.pem} for
 * each certificate it issued. Files are written as {@link PemFiles} writes them (whole, keys
 * owner-only); a directory made here is owner-only (0700).
 */
public final class CaDirectory {

  public static final String CA_CERTIFICATE = "ca.pem";
  public static final String CA_KEY = "ca-key.pem";

  private final Path directory;

  public CaDirectory(Path directory) {
    this.directory = Objects.requireNonNull(directory, "directory");
  }

  public Path directory() {
    return directory;
  }

  public Path caCertificate() {
    return directory.resolve(CA_CERTIFICATE);
  }

  public Path caKey() {
    return directory.resolve(CA_KEY);
  }

  /** {@code NAME.pem}. */
  public Path certificate(String name) {
    return directory.resolve(name + ".pem");
  }

  /** {@code NAME-key.pem}. */
  public Path privateKey(String name) {
    return directory.resolve(name + "-key.pem");
  }

  /**
   * Writes the CA's certificate and key, making the directory if needed.
   *
   * @throws IllegalArgumentException naming the file, when a CA is there already and {@code
   *     replace} is false: a new CA would leave every certificate the old one issued untrusted
   */
  public void writeAuthority(CertificateAuthority authority, boolean replace) {
    if (!replace) {
      for (Path existing : new Path[] {caCertificate(), caKey()}) {
        if (Files.exists(existing)) {
          throw new IllegalArgumentException(
              existing
                  + " already exists: a new CA would leave every certificate "
                  + "the old one issued untrusted. Use another --dir, or --force to replace it");
        }
      }
    }
    makeDirectory();
    PemFiles.write(caKey(), Pem.privateKey(authority.privateKey()), PemFiles.Access.OWNER_ONLY);
    PemFiles.write(
        caCertificate(), Pem.certificate(authority.certificate()), PemFiles.Access.READABLE);
  }

  /**
   * The CA written here.
   *
   * @throws IllegalArgumentException naming the file, when there is no CA, a file does not parse,
   *     or the key is not the certificate's
   */
  public CertificateAuthority readAuthority(Clock clock) {
    for (Path file : new Path[] {caCertificate(), caKey()}) {
      if (!Files.isRegularFile(file)) {
        throw new IllegalArgumentException(
            "no CA in "
                + directory
                + ": "
                + file
                + " does not exist (make one with "
                + "`signalbox ca init --dir "
                + directory
                + "`)");
      }
    }
    try {
      return CertificateAuthority.of(
          Pem.readCertificate(caCertificate()), Pem.readPrivateKey(caKey()), clock);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          caCertificate() + " / " + caKey() + ": " + e.getMessage(), e);
    }
  }

  /**
   * Writes {@code NAME.pem} and {@code NAME-key.pem}, replacing earlier ones (that is how a
   * certificate is rotated: the control plane and the SDK pick the new files up by themselves). The
   * key is written first; a reader waits for both files to hold still before it uses them.
   */
  public void writeIssued(String name, IssuedCertificate issued) {
    makeDirectory();
    issued.writeTo(certificate(name), privateKey(name));
  }

  private void makeDirectory() {
    if (Files.isDirectory(directory)) {
      return;
    }
    try {
      Files.createDirectories(directory);
      PemFiles.makePrivate(directory);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot make the directory " + directory, e);
    }
  }
}
