package io.signalbox.testing;

import io.signalbox.ca.CertificateAuthority;
import io.signalbox.ca.CertificateRequest;
import io.signalbox.ca.CertificateUsage;
import io.signalbox.ca.IssuedCertificate;
import io.signalbox.ca.Pem;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import javax.security.auth.x500.X500Principal;

/**
 * Certificates a test makes for itself: a certificate authority that the test's clients trust, and
 * server certificates it issues for host names with serial numbers the test chooses (so a test can
 * tell which one Envoy served). Made by the same {@link CertificateAuthority} as {@code signalbox
 * ca}: EC P-256 throughout.
 */
public final class TestCertificates {

  private static final Duration VALIDITY = Duration.ofDays(2);

  private TestCertificates() {}

  /** A new self-signed certificate authority. */
  public static Authority authority(String commonName) {
    return new Authority(
        CertificateAuthority.create(
            new X500Principal("CN=" + commonName), Optional.empty(), VALIDITY, Clock.systemUTC()));
  }

  /** A certificate authority: it issues server certificates. */
  public static final class Authority {
    private final CertificateAuthority authority;

    private Authority(CertificateAuthority authority) {
      this.authority = authority;
    }

    public X509Certificate certificate() {
      return authority.certificate();
    }

    /** The certificate as PEM, for a client's trust store file. */
    public String certificatePem() {
      return Pem.certificate(authority.certificate());
    }

    /**
     * A server certificate for {@code hosts} (the first is also its common name) with the given
     * serial number.
     */
    public IssuedCertificate issue(BigInteger serial, String... hosts) {
      return issue(serial, "CN=" + hosts[0], List.of(CertificateUsage.SERVER), hosts);
    }

    /**
     * A certificate for the given usages (server and/or client authentication) and subject
     * alternative names: host names, IP addresses written as such, or URIs (anything with {@code
     * ://}, such as a SPIFFE ID).
     */
    public IssuedCertificate issue(
        BigInteger serial, String subject, List<CertificateUsage> usages, String... names) {
      CertificateRequest.Builder request =
          CertificateRequest.builder(new X500Principal(subject))
              .serial(serial)
              .usage(usages.toArray(CertificateUsage[]::new))
              .validity(VALIDITY);
      for (String name : names) {
        if (name.contains("://")) {
          request.uri(name);
        } else if (name.matches("[0-9.]+|.*:.*")) {
          request.ipAddress(name);
        } else {
          request.dnsName(name);
        }
      }
      return authority.issue(request.build());
    }
  }

  public static void replace(Path file, String content) {
    try {
      Path temporary =
          Files.createTempFile(
              file.toAbsolutePath().getParent(), file.getFileName().toString(), ".tmp");
      Files.writeString(temporary, content, StandardCharsets.US_ASCII);
      Files.move(
          temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }
}
