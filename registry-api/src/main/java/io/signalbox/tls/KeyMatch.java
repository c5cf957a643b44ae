package io.signalbox.tls;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Whether a private key belongs to a certificate: what the key signs, the certificate's public key
 * verifies.
 */
public final class KeyMatch {

  private static final byte[] CHALLENGE =
      "signalbox certificate/key check".getBytes(StandardCharsets.US_ASCII);

  private KeyMatch() {}

  /** Whether {@link #matches} can tell for this certificate's key algorithm (RSA, EC, Ed25519). */
  public static boolean supports(X509Certificate certificate) {
    return signatureAlgorithm(certificate) != null;
  }

  /**
   * @return whether they belong together; empty when the certificate's key algorithm is not {@link
   *     #supports}ed
   */
  public static Optional<Boolean> matches(X509Certificate certificate, PrivateKey key) {
    String signatureAlgorithm = signatureAlgorithm(certificate);
    if (signatureAlgorithm == null) {
      return Optional.empty();
    }
    try {
      Signature signer = Signature.getInstance(signatureAlgorithm);
      signer.initSign(key);
      signer.update(CHALLENGE);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(signatureAlgorithm);
      verifier.initVerify(certificate.getPublicKey());
      verifier.update(CHALLENGE);
      return Optional.of(verifier.verify(signature));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      // A key of another algorithm than the certificate's belongs to it no more.
      return Optional.of(false);
    }
  }

  private static @Nullable String signatureAlgorithm(X509Certificate certificate) {
    return switch (certificate.getPublicKey().getAlgorithm()) {
      case "RSA" -> "SHA256withRSA";
      case "EC" -> "SHA256withECDSA";
      case "Ed25519", "EdDSA" -> "Ed25519";
      default -> null;
    };
  }
}
