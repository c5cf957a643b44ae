package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.signalbox.client.AuthSpec;
import io.signalbox.client.Routes;
import io.signalbox.config.JwtProviderSpec;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.HttpProbe;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A public prefix {@code /api} and a protected {@code /api/admin} of another service, through a
 * real Envoy: a slash escaped as {@code %2F} (or a backslash as {@code %5C}) must not carry a
 * request for the protected path past its route into the public one. Envoy redirects to the
 * unescaped path, where the protected route answers.
 */
@ExtendWith(EnvoyLogsOnFailure.class)
class EscapedSlashesEndToEndTest {

  private static final String ISSUER = "https://escapes.issuer.test/";
  private static final Duration PROPAGATION = Duration.ofSeconds(10);

  private final TestTokens tokens = TestTokens.rs256(ISSUER, "escapes-1");

  @Test
  void anEscapedSlashCannotReachAProtectedPathThroughAPublicPrefix() {
    try (GatewayFixture gateway =
        GatewayFixture.startWithSettings(
            EnvoyProcess.XdsMode.SOTW,
            settings ->
                settings.jwtProvider(
                    JwtProviderSpec.builder("corp", ISSUER)
                        .anyAudience()
                        .jwks(new JwtProviderSpec.InlineJwks(tokens.jwks()))
                        .build()))) {
      // The protected route first: a route inside another service's prefix may not be registered
      // after it.
      gateway.serve("vault", "vault-1", Routes.prefix("/api/admin").auth(AuthSpec.jwt("corp")));
      gateway.serve("api", "api-1", Routes.prefix("/api"));
      HttpProbe.awaitStatus(gateway.url("/api/admin/keys"), 401, PROPAGATION);
      HttpProbe.awaitStatus(gateway.url("/api/docs"), 200, PROPAGATION);

      for (String escaped :
          List.of(
              "/api/admin%2Fkeys",
              "/api/admin%2fkeys", "/api%2Fadmin%2Fkeys", "/api/admin%5Ckeys")) {
        HttpProbe.Response response = HttpProbe.get(gateway.url(escaped));
        assertThat(response.status()).as(escaped).isEqualTo(307);
        assertThat(response.headers().firstValue("location"))
            .as(escaped)
            .hasValueSatisfying(location -> assertThat(location).endsWith("/api/admin/keys"));
        assertThat(response.body()).as(escaped).doesNotContain("\"service\"");
      }
      assertThat(HttpProbe.get(gateway.url("/api/admin/keys")).status())
          .as("where the redirect leads")
          .isEqualTo(401);
      HttpProbe.Response withToken =
          HttpProbe.get(
              gateway.url("/api/admin/keys"),
              Map.of("authorization", "Bearer " + tokens.sign(Map.of("sub", "alice"))));
      assertThat(withToken.status()).isEqualTo(200);
      assertThat(withToken.body()).contains("\"service\":\"vault\"");
      assertThat(HttpProbe.get(gateway.url("/api/docs%2Fintro")).headers().firstValue("location"))
          .as("a public path redirects to itself unescaped")
          .hasValueSatisfying(l -> assertThat(l).endsWith("/api/docs/intro"));
    }
  }
}
