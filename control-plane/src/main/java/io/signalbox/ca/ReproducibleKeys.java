package io.signalbox.ca;

import java.io.OutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.Signature;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.jcajce.io.OutputStreamFactory;
import org.bouncycastle.jce.ECNamedCurveTable;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.jce.spec.ECNamedCurveParameterSpec;
import org.bouncycastle.jce.spec.ECPrivateKeySpec;
import org.bouncycastle.jce.spec.ECPublicKeySpec;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;

/**
 * The key pair and serial number of a certificate derived from a secret and a description of the
 * certificate (HMAC-SHA256), so that whoever holds the secret makes the same ones: the CA's key is
 * the secret, so every replica holding the CA issues the same certificate for the same request and
 * validity, and nobody without it can predict the key.
 */
final class ReproducibleKeys {

  /** BouncyCastle, for keys from a scalar and for deterministic ECDSA (RFC 6979). */
  static final Provider PROVIDER = new BouncyCastleProvider();

  private static final ECNamedCurveParameterSpec P256 =
      ECNamedCurveTable.getParameterSpec("secp256r1");

  private final byte[] seed;

  private ReproducibleKeys(byte[] seed) {
    this.seed = seed;
  }

  /** Keys and serial for {@code description}, derived with {@code secret}. */
  static ReproducibleKeys derive(PrivateKey secret, String description) {
    return new ReproducibleKeys(hmac(secret.getEncoded(), description));
  }

  /** A P-256 key pair whose private scalar derives from the seed, in [1, n-1]. */
  KeyPair keyPair() {
    BigInteger order = P256.getN();
    BigInteger scalar =
        new BigInteger(1, hmac(seed, "key pair"))
            .mod(order.subtract(BigInteger.ONE))
            .add(BigInteger.ONE);
    try {
      KeyFactory factory = KeyFactory.getInstance("EC", PROVIDER);
      return new KeyPair(
          factory.generatePublic(
              new ECPublicKeySpec(P256.getG().multiply(scalar).normalize(), P256)),
          factory.generatePrivate(new ECPrivateKeySpec(scalar, P256)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("BouncyCastle makes P-256 keys", e);
    }
  }

  /**
   * Deterministic ECDSA (RFC 6979) with SHA-256: the nonce derives from the key and the message, so
   * the same certificate is signed to the same bytes, under the usual ecdsa-with-SHA256 identifier
   * every verifier knows.
   */
  static ContentSigner deterministicSigner(PrivateKey issuerKey) throws OperatorCreationException {
    try {
      Signature signature = Signature.getInstance("SHA256withECDDSA", PROVIDER);
      signature.initSign(issuerKey);
      OutputStream stream = OutputStreamFactory.createStream(signature);
      AlgorithmIdentifier algorithm =
          new AlgorithmIdentifier(X9ObjectIdentifiers.ecdsa_with_SHA256);
      return new ContentSigner() {
        @Override
        public AlgorithmIdentifier getAlgorithmIdentifier() {
          return algorithm;
        }

        @Override
        public OutputStream getOutputStream() {
          return stream;
        }

        @Override
        public byte[] getSignature() {
          try {
            return signature.sign();
          } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot sign a certificate", e);
          }
        }
      };
    } catch (GeneralSecurityException e) {
      throw new OperatorCreationException("cannot make a deterministic ECDSA signer", e);
    }
  }

  /** 127 bits and positive, as a CA's random serials are. */
  BigInteger serial() {
    return new BigInteger(1, hmac(seed, "serial")).shiftRight(129).setBit(126);
  }

  private static byte[] hmac(byte[] key, String data) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every JVM has HmacSHA256", e);
    }
  }
}
