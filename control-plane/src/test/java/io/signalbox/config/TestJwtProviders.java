package io.signalbox.config;

/** JWT providers for tests that translate or publish, not verify: their key signs nothing. */
public final class TestJwtProviders {

  /** A public EC P-256 key in a JWKS, whose private half no test holds. */
  private static final String JWKS =
      "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"k\",\"crv\":\"P-256\","
          + "\"x\":\"A4Vuvzc47nNrD541FdR0_cFsS7A3Dqn6yDUhl1PLXcw\",\"y\":\"HHK-bMjSUj7d-dmZsm2RNl2h_Br1dIfpst7so6EPbK8\"}]}";

  private TestJwtProviders() {}

  /** Provider "corp" of issuer https://auth.example.com/, any audience, the key above inline. */
  public static JwtProviderSpec corp() {
    return JwtProviderSpec.builder("corp", "https://auth.example.com/")
        .anyAudience()
        .jwks(new JwtProviderSpec.InlineJwks(JWKS))
        .build();
  }
}
