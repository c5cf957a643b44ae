package io.signalbox.registry;

import static io.signalbox.registry.Fields.abbreviate;
import static io.signalbox.registry.Fields.check;

import io.signalbox.model.TrafficPolicy;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Checks a registration's TLS to its instances ({@code traffic.tls}). Sizes and counts are bounded
 * before the certificates are parsed, and a PEM that holds a private key is refused outright: it
 * would otherwise be stored, sent to every Envoy and shown in admin dumps.
 */
final class UpstreamTlsValidator {

  static final int MAX_CA_PEM_BYTES = 64 * 1024;
  static final int MAX_CA_CERTIFICATES = 16;
  static final int MAX_SUBJECT_ALT_NAMES = 8;
  private static final int MAX_URI_LENGTH = 256;
  private static final String BEGIN_CERTIFICATE = "-----BEGIN CERTIFICATE-----";

  /** A SPIFFE ID: spiffe://trust-domain/path, in the characters SPIFFE allows. */
  private static final java.util.regex.Pattern SPIFFE_ID =
      java.util.regex.Pattern.compile("spiffe://[a-z0-9._-]{1,255}(/[A-Za-z0-9._-]+)*");

  private UpstreamTlsValidator() {}

  /**
   * @param clientCertificates the names of the client certificates the operator configured
   */
  static TrafficPolicy.UpstreamTls tls(
      String field, io.signalbox.registry.v1.UpstreamTls proto, Set<String> clientCertificates) {
    String sni = proto.getSni();
    check(!sni.isEmpty(), field + ".sni", "is required");
    check(
        RegistrationRules.isLowerCaseDnsName(sni),
        field + ".sni",
        "'" + abbreviate(sni) + "' is not a lowercase DNS name");
    String caPem = caPem(field + ".ca_pem", proto.getCaPem());
    check(
        proto.getSubjectAltNamesCount() <= MAX_SUBJECT_ALT_NAMES,
        field + ".subject_alt_names",
        "has " + proto.getSubjectAltNamesCount() + " names; the limit is " + MAX_SUBJECT_ALT_NAMES);
    List<String> names = new ArrayList<>();
    for (int i = 0; i < proto.getSubjectAltNamesCount(); i++) {
      String name = proto.getSubjectAltNames(i);
      check(
          name.length() <= MAX_URI_LENGTH
              && (RegistrationRules.isLowerCaseDnsName(name) || SPIFFE_ID.matcher(name).matches()),
          field + ".subject_alt_names[" + i + "]",
          "'" + abbreviate(name) + "' is neither a lowercase DNS name nor a spiffe:// ID");
      check(
          !names.contains(name),
          field + ".subject_alt_names[" + i + "]",
          "'" + name + "' is listed twice");
      names.add(name);
    }
    Optional<String> clientCertificate = Optional.empty();
    if (!proto.getClientCertificate().isEmpty()) {
      String name = proto.getClientCertificate();
      check(
          clientCertificates.contains(name),
          field + ".client_certificate",
          "'"
              + abbreviate(name)
              + "' is not one of the operator's client certificates granted to this service "
              + new java.util.TreeSet<>(clientCertificates));
      clientCertificate = Optional.of(name);
    }
    return new TrafficPolicy.UpstreamTls(sni, caPem, names, clientCertificate);
  }

  /** A URI SAN (a SPIFFE ID) as opposed to a DNS one. */
  static boolean isUri(String name) {
    return name.contains("://");
  }

  private static String caPem(String field, String pem) {
    check(!pem.isBlank(), field, "is required: instances are always verified");
    int bytes = pem.getBytes(StandardCharsets.UTF_8).length;
    check(
        bytes <= MAX_CA_PEM_BYTES,
        field,
        "is " + bytes + " bytes; the limit is " + MAX_CA_PEM_BYTES);
    // Never echo any of it: a private key pasted by mistake must not reach a log.
    check(!pem.contains("PRIVATE KEY"), field, "holds a private key; give certificates only");
    int count = occurrences(pem, BEGIN_CERTIFICATE);
    check(count >= 1, field, "holds no PEM certificate");
    check(
        count <= MAX_CA_CERTIFICATES,
        field,
        "holds " + count + " certificates; the limit is " + MAX_CA_CERTIFICATES);
    try {
      int parsed =
          CertificateFactory.getInstance("X.509")
              .generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.UTF_8)))
              .size();
      check(parsed == count, field, "holds a certificate that does not parse");
    } catch (CertificateException e) {
      throw new InvalidFieldException(field, "is not PEM certificates: " + e.getMessage());
    }
    return pem;
  }

  private static int occurrences(String text, String marker) {
    int count = 0;
    for (int at = text.indexOf(marker); at >= 0; at = text.indexOf(marker, at + 1)) {
      count++;
    }
    return count;
  }
}
