package io.signalbox.ca;

import io.signalbox.security.Identity;
import io.signalbox.security.PeerIdentities;
import io.signalbox.tls.KeyMatch;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A certificate authority that signs with an EC P-256 key (ECDSA with SHA-256): what Envoy's
 * BoringSSL, grpc-java and etcd all accept, and quick to generate. It issues certificates for TLS
 * servers and clients, each with a fresh P-256 key, with the URI (SPIFFE ID), DNS and IP subject
 * alternative names asked for.
 *
 * <p>Every certificate starts one hour before it is made, so a peer whose clock runs a little
 * behind accepts it.
 */
public final class CertificateAuthority {

  /** How far back a new certificate's validity starts. */
  static final Duration BACKDATE = Duration.ofHours(1);

  private static final String SIGNATURE_ALGORITHM = "SHA256withECDSA";
  private static final int URI = GeneralName.uniformResourceIdentifier;

  private final X509Certificate certificate;
  private final PrivateKey key;
  private final Clock clock;
  private final SecureRandom random;

  private CertificateAuthority(
      X509Certificate certificate, PrivateKey key, Clock clock, SecureRandom random) {
    this.certificate = certificate;
    this.key = key;
    this.clock = clock;
    this.random = random;
  }

  /**
   * A new self-signed CA. It may sign certificates but no further CAs (path length 0). With a trust
   * domain, its certificate names it as the URI SAN {@code spiffe://TRUST-DOMAIN} (as SPIFFE
   * signing certificates may).
   */
  public static CertificateAuthority create(
      X500Principal subject, Optional<String> trustDomain, Duration validity, Clock clock) {
    Objects.requireNonNull(subject, "subject");
    Objects.requireNonNull(trustDomain, "trustDomain");
    if (validity.isNegative() || validity.isZero()) {
      throw new IllegalArgumentException("validity must be positive: " + validity);
    }
    SecureRandom random = new SecureRandom();
    KeyPair keys = newKeyPair(random);
    Instant now = clock.instant();
    X509v3CertificateBuilder builder =
        new JcaX509v3CertificateBuilder(
            subject,
            randomSerial(random),
            Date.from(now.minus(BACKDATE)),
            Date.from(now.plus(validity)),
            subject,
            keys.getPublic());
    try {
      JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
      builder.addExtension(
          Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      builder.addExtension(
          Extension.subjectKeyIdentifier,
          false,
          extensions.createSubjectKeyIdentifier(keys.getPublic()));
      if (trustDomain.isPresent()) {
        builder.addExtension(
            Extension.subjectAlternativeName,
            false,
            new GeneralNames(new GeneralName(URI, "spiffe://" + trustDomain.get())));
      }
    } catch (CertIOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot build a CA certificate", e);
    }
    return new CertificateAuthority(
        sign(builder, RandomizedSigner.INSTANCE, keys.getPrivate()),
        keys.getPrivate(),
        clock,
        random);
  }

  /**
   * A CA from its certificate and key, as read from files.
   *
   * @throws IllegalArgumentException when the certificate is no CA, or the key is not its key
   */
  public static CertificateAuthority of(X509Certificate certificate, PrivateKey key, Clock clock) {
    if (certificate.getBasicConstraints() < 0) {
      throw new IllegalArgumentException(
          "the certificate "
              + certificate.getSubjectX500Principal()
              + " is not a CA certificate (no basic constraints CA:true)");
    }
    if (!KeyMatch.matches(certificate, key).orElse(false)) {
      throw new IllegalArgumentException(
          "the private key is not the key of the CA certificate "
              + certificate.getSubjectX500Principal());
    }
    return new CertificateAuthority(certificate, key, clock, new SecureRandom());
  }

  public X509Certificate certificate() {
    return certificate;
  }

  /** The CA's private key: write it to an owner-only file, never to a log. */
  public PrivateKey privateKey() {
    return key;
  }

  /** The trust domain its certificate names ({@code spiffe://TRUST-DOMAIN} URI SAN), if any. */
  public Optional<String> trustDomain() {
    return PeerIdentities.of(certificate)
        .map(Identity::value)
        .filter(uri -> uri.startsWith("spiffe://"))
        .map(uri -> uri.substring("spiffe://".length()));
  }

  /** When the CA's certificate stops being valid. */
  public Instant notAfter() {
    return certificate.getNotAfter().toInstant();
  }

  /**
   * A new key pair and a certificate for it, signed by this CA. The certificate ends at the latest
   * when the CA's does: a peer would refuse the part of its life beyond.
   *
   * @throws IllegalStateException when the CA's certificate has expired
   */
  public IssuedCertificate issue(CertificateRequest request) {
    Instant now = clock.instant();
    if (!now.isBefore(notAfter())) {
      throw new IllegalStateException(
          "the CA certificate "
              + certificate.getSubjectX500Principal()
              + " expired at "
              + notAfter());
    }
    KeyPair keys = newKeyPair(random);
    return issue(
        request,
        keys,
        request.serial().orElseGet(() -> randomSerial(random)),
        now,
        RandomizedSigner.INSTANCE);
  }

  /**
   * The certificate for {@code request} whose validity starts at {@code start} (less the usual
   * backdating): the same bytes every time, on every replica that holds this CA. Its key pair and
   * serial derive from this CA's key and the request ({@link ReproducibleKeys}), and it is signed
   * with deterministic ECDSA (RFC 6979), so replicas issuing a workload certificate for the same
   * period send Envoy the same secret, with the same version.
   *
   * @throws IllegalStateException when the CA's certificate has expired
   */
  public IssuedCertificate issueReproducibly(CertificateRequest request, Instant start) {
    if (!clock.instant().isBefore(notAfter())) {
      throw new IllegalStateException(
          "the CA certificate "
              + certificate.getSubjectX500Principal()
              + " expired at "
              + notAfter());
    }
    ReproducibleKeys derived =
        ReproducibleKeys.derive(
            key,
            String.join(
                "\n",
                request.subject().getName(),
                String.valueOf(request.uris()),
                String.valueOf(request.dnsNames()),
                String.valueOf(request.ipAddresses()),
                String.valueOf(request.usages().stream().sorted().toList()),
                String.valueOf(request.validity()),
                String.valueOf(start)));
    return issue(
        request,
        derived.keyPair(),
        request.serial().orElseGet(derived::serial),
        start,
        ReproducibleKeys::deterministicSigner);
  }

  private IssuedCertificate issue(
      CertificateRequest request, KeyPair keys, BigInteger serial, Instant start, Signers signer) {
    Instant notAfter = start.plus(request.validity());
    if (notAfter.isAfter(notAfter())) {
      notAfter = notAfter();
    }
    X509v3CertificateBuilder builder =
        new JcaX509v3CertificateBuilder(
            certificate.getSubjectX500Principal(),
            serial,
            Date.from(start.minus(BACKDATE)),
            Date.from(notAfter),
            request.subject(),
            keys.getPublic());
    try {
      JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      builder.addExtension(
          Extension.extendedKeyUsage,
          false,
          new ExtendedKeyUsage(
              request.usages().stream()
                  .sorted()
                  .map(CertificateUsage::purpose)
                  .toArray(KeyPurposeId[]::new)));
      builder.addExtension(
          Extension.subjectKeyIdentifier,
          false,
          extensions.createSubjectKeyIdentifier(keys.getPublic()));
      builder.addExtension(
          Extension.authorityKeyIdentifier,
          false,
          extensions.createAuthorityKeyIdentifier(certificate.getPublicKey()));
      List<GeneralName> names = new ArrayList<>();
      request.uris().forEach(uri -> names.add(new GeneralName(URI, uri)));
      request.dnsNames().forEach(name -> names.add(new GeneralName(GeneralName.dNSName, name)));
      request
          .ipAddresses()
          .forEach(address -> names.add(new GeneralName(GeneralName.iPAddress, address)));
      if (!names.isEmpty()) {
        builder.addExtension(
            Extension.subjectAlternativeName,
            false,
            new GeneralNames(names.toArray(GeneralName[]::new)));
      }
    } catch (CertIOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot build a certificate for " + request.subject(), e);
    }
    return new IssuedCertificate(sign(builder, signer, key), keys.getPrivate());
  }

  /** Makes the signer of a certificate from the CA's key. */
  @FunctionalInterface
  private interface Signers {
    ContentSigner signerFor(PrivateKey issuerKey) throws OperatorCreationException;
  }

  /** ECDSA with a random nonce, as the JVM signs. */
  private enum RandomizedSigner implements Signers {
    INSTANCE;

    @Override
    public ContentSigner signerFor(PrivateKey issuerKey) throws OperatorCreationException {
      return new JcaContentSignerBuilder(SIGNATURE_ALGORITHM).build(issuerKey);
    }
  }

  private static X509Certificate sign(
      X509v3CertificateBuilder builder, Signers signer, PrivateKey issuerKey) {
    try {
      return new JcaX509CertificateConverter()
          .getCertificate(builder.build(signer.signerFor(issuerKey)));
    } catch (OperatorCreationException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot sign a certificate", e);
    }
  }

  /** 128 random bits, positive: unpredictable, as CAs should make them. */
  private static BigInteger randomSerial(SecureRandom random) {
    return new BigInteger(128, random).setBit(127);
  }

  private static KeyPair newKeyPair(SecureRandom random) {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"), random);
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every JVM has EC P-256", e);
    }
  }

  @Override
  public String toString() {
    return "CertificateAuthority[" + certificate.getSubjectX500Principal() + "]";
  }
}
