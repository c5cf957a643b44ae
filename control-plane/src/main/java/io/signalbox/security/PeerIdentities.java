package io.signalbox.security;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/** Reads a peer's {@link Identity} from its certificate. */
public final class PeerIdentities {

  /** Subject alternative name types (RFC 5280): dNSName and uniformResourceIdentifier. */
  private static final int DNS_NAME = 2;

  private static final int URI = 6;

  /**
   * Longer names are not identities anyone issues; they are refused rather than carried into logs
   * and maps.
   */
  static final int MAX_IDENTITY_LENGTH = 512;

  private PeerIdentities() {}

  /**
   * The identity a certificate names: its URI SAN (SPIFFE-style), else its first DNS SAN, else its
   * subject's CN. Empty when it names none (or only names longer than 512 characters, or with
   * control characters).
   */
  public static Optional<Identity> of(X509Certificate certificate) {
    Optional<String> name =
        subjectAlternativeName(certificate, URI)
            .or(() -> subjectAlternativeName(certificate, DNS_NAME))
            .or(() -> commonName(certificate));
    return name.filter(PeerIdentities::plausible).map(Identity::new);
  }

  private static Optional<String> subjectAlternativeName(X509Certificate certificate, int type) {
    Collection<List<?>> names;
    try {
      names = certificate.getSubjectAlternativeNames();
    } catch (CertificateParsingException e) {
      return Optional.empty();
    }
    if (names == null) {
      return Optional.empty();
    }
    return names.stream()
        .filter(entry -> entry.size() >= 2 && entry.get(0) instanceof Integer kind && kind == type)
        .map(entry -> entry.get(1))
        .filter(String.class::isInstance)
        .map(String.class::cast)
        .findFirst();
  }

  private static Optional<String> commonName(X509Certificate certificate) {
    try {
      for (Rdn rdn : new LdapName(certificate.getSubjectX500Principal().getName()).getRdns()) {
        if (rdn.getType().equalsIgnoreCase("CN")) {
          return Optional.of(rdn.getValue().toString());
        }
      }
    } catch (InvalidNameException e) {
      return Optional.empty();
    }
    return Optional.empty();
  }

  private static boolean plausible(String name) {
    return !name.isEmpty()
        && name.length() <= MAX_IDENTITY_LENGTH
        && name.chars().allMatch(c -> c > 0x20 && c < 0x7f);
  }
}
