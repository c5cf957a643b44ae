package io.signalbox.e2e;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * A signing key made for one test run, and the tokens it signs. The private key never leaves this
 * object: the JWKS it publishes holds the public half only, and {@link #toString()} names the key
 * id alone.
 */
final class TestTokens {

  private final JWK key;
  private final JWSAlgorithm algorithm;
  private final JWSSigner signer;
  private final String issuer;

  private TestTokens(JWK key, JWSAlgorithm algorithm, JWSSigner signer, String issuer) {
    this.key = key;
    this.algorithm = algorithm;
    this.signer = signer;
    this.issuer = issuer;
  }

  /** A fresh 2048-bit RSA key signing RS256 tokens of {@code issuer}. */
  static TestTokens rs256(String issuer, String keyId) {
    try {
      RSAKey key =
          new RSAKeyGenerator(2048)
              .keyID(keyId)
              .keyUse(KeyUse.SIGNATURE)
              .algorithm(JWSAlgorithm.RS256)
              .generate();
      return new TestTokens(key, JWSAlgorithm.RS256, new RSASSASigner(key), issuer);
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot make an RSA test key", e);
    }
  }

  /** A fresh P-256 key signing ES256 tokens of {@code issuer}. */
  static TestTokens es256(String issuer, String keyId) {
    try {
      ECKey key =
          new ECKeyGenerator(Curve.P_256)
              .keyID(keyId)
              .keyUse(KeyUse.SIGNATURE)
              .algorithm(JWSAlgorithm.ES256)
              .generate();
      return new TestTokens(key, JWSAlgorithm.ES256, new ECDSASigner(key), issuer);
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot make an EC test key", e);
    }
  }

  /** The public JWKS document a gateway verifies these tokens with. */
  String jwks() {
    return new JWKSet(key.toPublicJWK()).toString();
  }

  /** A token valid for five minutes with {@code claims} (plus iss, iat, nbf, exp). */
  String sign(Map<String, Object> claims) {
    return sign(claims, builder -> builder);
  }

  /**
   * A token with {@code claims}; {@code adjust} may then change anything, e.g. make it expired or
   * issued by someone else.
   */
  String sign(Map<String, Object> claims, UnaryOperator<JWTClaimsSet.Builder> adjust) {
    Instant now = Instant.now();
    JWTClaimsSet.Builder builder =
        new JWTClaimsSet.Builder()
            .issuer(issuer)
            .issueTime(Date.from(now))
            .notBeforeTime(Date.from(now.minusSeconds(5)))
            .expirationTime(Date.from(now.plus(Duration.ofMinutes(5))));
    claims.forEach(builder::claim);
    SignedJWT jwt =
        new SignedJWT(
            new JWSHeader.Builder(algorithm).keyID(key.getKeyID()).build(),
            adjust.apply(builder).build());
    try {
      jwt.sign(signer);
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot sign a test token with key " + key.getKeyID(), e);
    }
    return jwt.serialize();
  }

  /**
   * Claims of tokens that expired ten minutes ago, well past Envoy's default clock skew of 60 s.
   */
  static UnaryOperator<JWTClaimsSet.Builder> expired() {
    Instant past = Instant.now().minus(Duration.ofMinutes(15));
    return builder ->
        builder
            .issueTime(Date.from(past))
            .notBeforeTime(Date.from(past))
            .expirationTime(Date.from(past.plus(Duration.ofMinutes(5))));
  }

  static UnaryOperator<JWTClaimsSet.Builder> issuer(String otherIssuer) {
    return builder -> builder.issuer(otherIssuer);
  }

  static UnaryOperator<JWTClaimsSet.Builder> audience(String... audiences) {
    return builder -> builder.audience(List.of(audiences));
  }

  @Override
  public String toString() {
    return "TestTokens{" + algorithm + ", kid=" + key.getKeyID() + ", issuer=" + issuer + "}";
  }
}
