package io.signalbox.ca;

import java.math.BigInteger;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Objects;

/**
 * A certificate and its private key. Its {@link #toString()} names the certificate, never the key.
 */
public record IssuedCertificate(X509Certificate certificate, PrivateKey privateKey) {

  public IssuedCertificate {
    Objects.requireNonNull(certificate, "certificate");
    Objects.requireNonNull(privateKey, "privateKey");
  }

  public BigInteger serial() {
    return certificate.getSerialNumber();
  }

  public String certificatePem() {
    return Pem.certificate(certificate);
  }

  /** Unencrypted PKCS#8: write it to an owner-only file. */
  public String privateKeyPem() {
    return Pem.privateKey(privateKey);
  }

  /**
   * Writes the certificate and the key (owner-only) as PEM, each file replaced whole, the key
   * first: a reader that re-reads them (the control plane, the SDK) waits for both to hold still
   * before it uses them.
   */
  public void writeTo(Path certificateFile, Path privateKeyFile) {
    PemFiles.write(privateKeyFile, privateKeyPem(), PemFiles.Access.OWNER_ONLY);
    PemFiles.write(certificateFile, certificatePem(), PemFiles.Access.READABLE);
  }

  @Override
  public String toString() {
    return "IssuedCertificate["
        + certificate.getSubjectX500Principal()
        + ", serial "
        + serial()
        + "]";
  }
}
