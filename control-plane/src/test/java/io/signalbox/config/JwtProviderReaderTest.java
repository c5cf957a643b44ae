package io.signalbox.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * What a JWT provider of the settings file must say: public asymmetric keys only, https for a
 * remote JWKS unless it opts out by name, audiences or explicitly any, and {@code exp} required
 * unless it opts out.
 */
class JwtProviderReaderTest {

  private static final String EC_KEY =
      "{\"kty\": \"EC\", \"crv\": \"P-256\", "
          + "\"x\": \"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\", \"y\": \"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}";

  /** An RSA key as a careless operator might export it: with its private half. */
  private static final String RSA_PRIVATE_MEMBER = "PRIVATE-MEMBER-VALUE-d";

  private static final String RSA_KEY_WITH_PRIVATE_HALF =
      "{\"kty\": \"RSA\", \"n\": \"sXch\", \"e\": \"AQAB\", "
          + "\"d\": \""
          + RSA_PRIVATE_MEMBER
          + "\", \"p\": \"x\", \"q\": \"y\", \"dp\": \"z\", \"dq\": \"w\", \"qi\": \"v\"}";

  @TempDir Path dir;

  @Test
  void aProviderRequiresExpirationUnlessItSaysOtherwise() {
    GatewaySettings settings =
        parse(
            """
        jwtProviders:
          - {name: strict, issuer: x, audiences: [api], jwks: {inline: '{"keys": [%s]}'}}
          - {name: lax, issuer: y, audiences: [api], requireExpiration: false, jwks: {inline: '{"keys": [%s]}'}}
        """
                .formatted(EC_KEY, EC_KEY));

    assertThat(settings.jwtProvider("strict").orElseThrow().requireExpiration()).isTrue();
    assertThat(settings.jwtProvider("lax").orElseThrow().requireExpiration()).isFalse();
  }

  @Test
  void anyAudienceIsAChoiceTheProviderStates() {
    JwtProviderSpec any =
        parse(
                """
        jwtProviders: [{name: corp, issuer: x, anyAudience: true, jwks: {inline: '{"keys": [%s]}'}}]
        """
                    .formatted(EC_KEY))
            .jwtProvider("corp")
            .orElseThrow();

    assertThat(any.anyAudience()).isTrue();
    assertThat(any.audiences()).isEmpty();
  }

  @Test
  void aPlaintextJwksUriNeedsTheProvidersExplicitConsent() {
    JwtProviderSpec provider =
        parse(
                """
        jwtProviders:
          - {name: corp, issuer: x, audiences: [api], jwks: {remote: {uri: 'http://10.0.0.9/keys', insecureHttp: true}}}
        """)
            .jwtProvider("corp")
            .orElseThrow();

    assertThat(provider.jwks())
        .isEqualTo(
            new JwtProviderSpec.RemoteJwks(
                URI.create("http://10.0.0.9/keys"),
                Duration.ofMinutes(5),
                Duration.ofSeconds(1),
                true));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
      {"kty": "oct", "k": "c2VjcmV0"}                              | jwtProviders[0].jwks.inline.keys[0].kty: 'oct' is a shared secret
      {"kty": "RSA", "n": "sXch", "e": "AQAB", "d": "ZA"}          | jwtProviders[0].jwks.inline.keys[0].d: is private key material
      {"kty": "EC", "crv": "P-256", "x": "eA", "y": "eQ", "d": "ZA"} | jwtProviders[0].jwks.inline.keys[0].d: is private key material
      {"kty": "OKP", "crv": "Ed25519", "x": "eA", "d": "ZA"}       | jwtProviders[0].jwks.inline.keys[0].d: is private key material
      {"kty": "RSA", "n": "sXch", "e": "AQAB", "qi": "ZA"}         | jwtProviders[0].jwks.inline.keys[0].qi: is private key material
      {"kty": "RSA", "n": "sXch", "e": "AQAB", "k": "ZA"}          | jwtProviders[0].jwks.inline.keys[0].k: is private key material
      {"kty": "RSA", "e": "AQAB"}                                  | jwtProviders[0].jwks.inline.keys[0].n: is required for an RSA key
      {"kty": "EC", "crv": "P-256", "x": "eA"}                     | jwtProviders[0].jwks.inline.keys[0].y: is required for an EC key
      {"kty": "XYZ"}                                               | jwtProviders[0].jwks.inline.keys[0].kty: 'XYZ' is not RSA, EC or OKP
      {"n": "sXch"}                                                | jwtProviders[0].jwks.inline.keys[0].kty: is required
      """)
  void anInlineKeyThatIsNotAPublicAsymmetricKeyIsRefusedNamingItsMember(
      String key, String message) {
    String document = "{\"keys\": [" + key + "]}";

    assertThatThrownBy(
            () ->
                parse(
                    "jwtProviders: [{name: corp, issuer: x, audiences: [api], jwks: {inline: '"
                        + document
                        + "'}}]"))
        .isInstanceOf(InvalidSettingsException.class)
        .hasMessageStartingWith(message);
  }

  @Test
  void aFileKeyWithItsPrivateHalfIsRefusedWithoutEchoingIt() throws IOException {
    Files.writeString(
        dir.resolve("keys.json"),
        "{\"keys\": [" + EC_KEY + ", " + RSA_KEY_WITH_PRIVATE_HALF + "]}");

    assertThatThrownBy(
            () ->
                parse(
                    "jwtProviders: [{name: corp, issuer: x, audiences: [api], jwks: {file: keys.json}}]"))
        .isInstanceOf(InvalidSettingsException.class)
        .hasMessageStartingWith("jwtProviders[0].jwks.file.keys[1].d: is private key material")
        .message()
        .doesNotContain(RSA_PRIVATE_MEMBER);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
      {name: corp, issuer: x, audiences: [api], jwks: {remote: {uri: 'http://idp/keys'}}}                     | jwtProviders[0].jwks.remote.uri: 'http://idp/keys' is plaintext HTTP
      {name: corp, issuer: x, audiences: [api], jwks: {remote: {uri: 'https://idp/keys', insecureHttp: true}}} | jwtProviders[0].jwks.remote.insecureHttp: applies to http:// URIs only
      {name: corp, issuer: x, jwks: {remote: {uri: 'https://idp/keys'}}}                                      | jwtProviders[0].audiences: name the audiences a token must be for, or set anyAudience: true
      {name: corp, issuer: x, audiences: [api], anyAudience: true, jwks: {remote: {uri: 'https://idp/keys'}}} | jwtProviders[0].anyAudience: true accepts any audience
      """)
  void aProviderThatLeavesASecurityChoiceUnstatedIsRefusedNamingTheField(
      String provider, String message) {
    assertThatThrownBy(() -> parse("jwtProviders: [" + provider + "]"))
        .isInstanceOf(InvalidSettingsException.class)
        .hasMessageStartingWith(message);
  }

  @Test
  void providersBuiltInCodeKeepTheSameRules() {
    assertThatThrownBy(
            () ->
                new JwtProviderSpec.InlineJwks(
                    "{\"keys\": [{\"kty\": \"oct\", \"k\": \"c2VjcmV0\"}]}"))
        .isInstanceOf(InvalidSettingsException.class)
        .hasMessageStartingWith("jwks.inline.keys[0].kty");
    assertThatThrownBy(
            () ->
                new JwtProviderSpec.RemoteJwks(
                    URI.create("http://idp/keys"), Duration.ofMinutes(5), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(
            () ->
                JwtProviderSpec.builder("corp", "x")
                    .jwks(new JwtProviderSpec.InlineJwks("{\"keys\": [" + EC_KEY + "]}"))
                    .build())
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(
            JwtProviderSpec.builder("corp", "x")
                .audiences("api")
                .jwks(new JwtProviderSpec.InlineJwks("{\"keys\": [" + EC_KEY + "]}"))
                .build()
                .requireExpiration())
        .isTrue();
  }

  private GatewaySettings parse(String yaml) {
    return GatewaySettingsLoader.parse(yaml, dir);
  }
}
