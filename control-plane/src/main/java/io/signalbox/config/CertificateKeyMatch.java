package io.signalbox.config;

import io.signalbox.tls.KeyMatch;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Whether a PEM private key belongs to a certificate ({@link KeyMatch}: signing with the key,
 * verifying with the certificate). Envoy would reject a mismatched pair too, but only as a NACK
 * after the push; checked here, the operator gets an error naming the field and the last good pair
 * stays in force without Envoy ever seeing it.
 */
final class CertificateKeyMatch {

  private static final Pattern PKCS8 =
      Pattern.compile("-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");

  private CertificateKeyMatch() {}

  /**
   * @return whether they match; empty when the key is not an unencrypted PKCS#8 key of an algorithm
   *     the JDK knows (then Envoy is the judge)
   */
  static Optional<Boolean> matches(X509Certificate certificate, String privateKeyPem) {
    Matcher pkcs8 = PKCS8.matcher(privateKeyPem);
    if (!pkcs8.find()) {
      return Optional.empty();
    }
    if (!KeyMatch.supports(certificate)) {
      return Optional.empty();
    }
    PrivateKey key;
    try {
      byte[] der = Base64.getMimeDecoder().decode(pkcs8.group(1));
      key =
          KeyFactory.getInstance(certificate.getPublicKey().getAlgorithm())
              .generatePrivate(new PKCS8EncodedKeySpec(der));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      // A key of another algorithm than the certificate's, or one the JDK cannot read, belongs to
      // it no more.
      return Optional.of(false);
    }
    return KeyMatch.matches(certificate, key);
  }
}
