package io.signalbox.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Certificates a test makes for itself: a certificate authority that the test's clients trust, and server
 * certificates it issues for host names with serial numbers the test chooses (so a test can tell which one Envoy
 * served). EC P-256 throughout, because it is quick to generate.
 */
public final class TestCertificates {

  private static final Duration VALIDITY = Duration.ofDays(2);

  private TestCertificates() {
  }

  /** A new self-signed certificate authority. */
  public static Authority authority(String commonName) {
    KeyPair keys = newKeyPair();
    X500Principal subject = new X500Principal("CN=" + commonName);
    X509v3CertificateBuilder builder = builder(subject, BigInteger.ONE, subject, keys);
    try {
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new Authority(sign(builder, keys.getPrivate()), keys.getPrivate());
  }

  /** A certificate authority: it issues server certificates. */
  public static final class Authority {
    private final X509Certificate certificate;
    private final PrivateKey key;

    private Authority(X509Certificate certificate, PrivateKey key) {
      this.certificate = certificate;
      this.key = key;
    }

    public X509Certificate certificate() {
      return certificate;
    }

    /** The certificate as PEM, for a client's trust store file. */
    public String certificatePem() {
      try {
        return pem("CERTIFICATE", certificate.getEncoded());
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException(e);
      }
    }

    /** A server certificate for {@code hosts} (the first is also its common name) with the given serial number. */
    public Issued issue(BigInteger serial, String... hosts) {
      return issue(serial, "CN=" + hosts[0], List.of(KeyPurposeId.id_kp_serverAuth), hosts);
    }

    /**
     * A certificate for the given purposes (server and/or client authentication) and subject alternative names:
     * host names, IP addresses written as such, or URIs (anything with {@code ://}, such as a SPIFFE ID).
     */
    public Issued issue(BigInteger serial, String subject, List<KeyPurposeId> purposes, String... names) {
      KeyPair keys = newKeyPair();
      X509v3CertificateBuilder builder = builder(certificate.getSubjectX500Principal(), serial,
          new X500Principal(subject), keys);
      try {
        if (names.length > 0) {
          builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(Arrays.stream(names)
              .map(name -> new GeneralName(name.contains("://") ? GeneralName.uniformResourceIdentifier
                  : name.matches("[0-9.]+|.*:.*") ? GeneralName.iPAddress : GeneralName.dNSName, name))
              .toArray(GeneralName[]::new)));
        }
        builder.addExtension(Extension.extendedKeyUsage, false,
            new ExtendedKeyUsage(purposes.toArray(KeyPurposeId[]::new)));
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return new Issued(sign(builder, key), keys.getPrivate());
    }
  }

  /** A server certificate and its private key. */
  public record Issued(X509Certificate certificate, PrivateKey key) {

    public BigInteger serial() {
      return certificate.getSerialNumber();
    }

    public String certificatePem() {
      try {
        return pem("CERTIFICATE", certificate.getEncoded());
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException(e);
      }
    }

    /** PKCS#8, as Envoy (BoringSSL) reads it. */
    public String privateKeyPem() {
      return pem("PRIVATE KEY", key.getEncoded());
    }

    /**
     * Writes the certificate and key files, each replaced atomically (as an operator's tooling would), so a reader
     * never sees a half-written file.
     */
    public void writeTo(Path certificateFile, Path privateKeyFile) {
      replace(certificateFile, certificatePem());
      replace(privateKeyFile, privateKeyPem());
    }

    @Override
    public String toString() {
      return "Issued[" + certificate.getSubjectX500Principal() + ", serial " + serial() + "]";
    }
  }

  public static void replace(Path file, String content) {
    try {
      Path temporary = Files.createTempFile(file.toAbsolutePath().getParent(), file.getFileName().toString(), ".tmp");
      Files.writeString(temporary, content, StandardCharsets.US_ASCII);
      Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n"
        + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  private static X509v3CertificateBuilder builder(X500Principal issuer, BigInteger serial, X500Principal subject,
                                                  KeyPair keys) {
    // Backdated a little, in case the clocks of the test and of Envoy's TLS library disagree.
    Instant now = Instant.now();
    return new JcaX509v3CertificateBuilder(issuer, serial, Date.from(now.minus(Duration.ofHours(1))),
        Date.from(now.plus(VALIDITY)), subject, keys.getPublic());
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey issuerKey) {
    try {
      return new JcaX509CertificateConverter().getCertificate(
          builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKey)));
    } catch (OperatorCreationException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot sign a test certificate", e);
    }
  }

  private static KeyPair newKeyPair() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"));
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every JVM has EC P-256", e);
    }
  }
}
