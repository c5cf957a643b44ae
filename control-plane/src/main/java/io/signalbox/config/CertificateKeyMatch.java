package io.signalbox.config;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Whether a private key belongs to a certificate, decided by signing with the key and verifying with the
 * certificate. Envoy would reject a mismatched pair too, but only as a NACK after the push; checked here, the
 * operator gets an error naming the field and the last good pair stays in force without Envoy ever seeing it.
 */
final class CertificateKeyMatch {

  private static final Pattern PKCS8 =
      Pattern.compile("-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");
  private static final byte[] CHALLENGE = "signalbox certificate/key check".getBytes(StandardCharsets.US_ASCII);

  private CertificateKeyMatch() {
  }

  /**
   * @return whether they match; empty when the key is not an unencrypted PKCS#8 key of an algorithm the JDK knows
   *     (then Envoy is the judge)
   */
  static Optional<Boolean> matches(X509Certificate certificate, String privateKeyPem) {
    Matcher pkcs8 = PKCS8.matcher(privateKeyPem);
    if (!pkcs8.find()) {
      return Optional.empty();
    }
    String algorithm = certificate.getPublicKey().getAlgorithm();
    String signatureAlgorithm = switch (algorithm) {
      case "RSA" -> "SHA256withRSA";
      case "EC" -> "SHA256withECDSA";
      case "Ed25519", "EdDSA" -> "Ed25519";
      default -> null;
    };
    if (signatureAlgorithm == null) {
      return Optional.empty();
    }
    try {
      byte[] der = Base64.getMimeDecoder().decode(pkcs8.group(1));
      PrivateKey key = KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
      Signature signer = Signature.getInstance(signatureAlgorithm);
      signer.initSign(key);
      signer.update(CHALLENGE);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(signatureAlgorithm);
      verifier.initVerify(certificate.getPublicKey());
      verifier.update(CHALLENGE);
      return Optional.of(verifier.verify(signature));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      // A key of another algorithm than the certificate's, or one the JDK cannot read, belongs to it no more.
      return Optional.of(false);
    }
  }
}
