package io.signalbox.tls;

import java.nio.file.Path;
import java.util.Objects;

/**
 * The PEM files of one side of mutual TLS.
 *
 * @param certificateChain the certificate this side presents, leaf first
 * @param privateKey the private key of that certificate (PKCS#8 or PKCS#1); a secret, never logged
 * @param caBundle the CA certificates the peer's certificate must chain to
 */
public record TlsFiles(Path certificateChain, Path privateKey, Path caBundle) {

  /** Checks that no path is null; the files are read by {@link TlsFileReloader#start}. */
  public TlsFiles {
    Objects.requireNonNull(certificateChain, "certificateChain");
    Objects.requireNonNull(privateKey, "privateKey");
    Objects.requireNonNull(caBundle, "caBundle");
  }
}
