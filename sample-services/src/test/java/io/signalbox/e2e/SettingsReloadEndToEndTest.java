package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.signalbox.client.AuthSpec;
import io.signalbox.client.Routes;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.FreePorts;
import io.signalbox.testing.HttpProbe;
import io.signalbox.testing.MetricsScrape;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator's settings file is hot-reloaded into a running Envoy; an invalid version is rejected
 * as a whole and the gateway keeps serving with the last good one.
 */
@ExtendWith(EnvoyLogsOnFailure.class)
class SettingsReloadEndToEndTest {

  private static final Duration POLL = Duration.ofMillis(100);
  private static final Duration REACHES_ENVOY = Duration.ofSeconds(10);

  @TempDir Path dir;

  private Path settingsFile;

  @Test
  void aValidChangeReachesEnvoyAndAnInvalidOneChangesNothing() {
    int first = FreePorts.allocate();
    int second = FreePorts.allocate();
    settingsFile = dir.resolve("gateway.yaml");
    write("listeners: [{name: http, address: 127.0.0.1, port: " + first + "}]");
    try (GatewayFixture gateway =
        GatewayFixture.start(
            EnvoyProcess.XdsMode.SOTW,
            config -> config.settingsFile(settingsFile).settingsPollInterval(POLL))) {
      gateway.serve("orders", "orders-1", Routes.prefix("/orders"));
      HttpProbe.awaitStatus(url(first, "/orders"), 200, REACHES_ENVOY);

      write(
          "listeners:\n"
              + "  - {name: http, address: 127.0.0.1, port: "
              + first
              + "}\n"
              + "  - {name: internal, address: 127.0.0.1, port: "
              + second
              + "}\n");
      HttpProbe.awaitStatus(url(second, "/orders"), 200, REACHES_ENVOY);

      // Invalid: a port out of range. Nothing may change, neither listener may go away.
      write(
          "listeners:\n"
              + "  - {name: http, address: 127.0.0.1, port: "
              + first
              + "}\n"
              + "  - {name: internal, address: 127.0.0.1, port: 70000}\n");
      // The invalid version was read and refused (without this, "nothing changed" would hold before
      // it was read).
      await()
          .atMost(REACHES_ENVOY)
          .until(
              () ->
                  MetricsScrape.parse(gateway.controlPlane().metrics().scrape())
                          .require("signalbox_settings_reloads_total", "result", "rejected")
                      == 1);
      await()
          .during(POLL.multipliedBy(10))
          .atMost(Duration.ofSeconds(5))
          .until(
              () ->
                  HttpProbe.get(url(first, "/orders")).status() == 200
                      && HttpProbe.get(url(second, "/orders")).status() == 200);
      gateway.serve("billing", "billing-1", Routes.prefix("/billing"));
      HttpProbe.awaitStatus(url(second, "/billing"), 200, REACHES_ENVOY);

      // Fixed by dropping the second listener: Envoy closes it, the first keeps serving.
      write("listeners: [{name: http, address: 127.0.0.1, port: " + first + "}]");
      await()
          .atMost(REACHES_ENVOY)
          .untilAsserted(
              () ->
                  assertThatThrownBy(() -> HttpProbe.get(url(second, "/orders")))
                      .isInstanceOf(UncheckedIOException.class));
      assertThat(HttpProbe.get(url(first, "/orders")).status()).isEqualTo(200);
    }
  }

  /**
   * A provider's JWKS kept in a file: replacing the file rotates the key Envoy checks tokens with.
   */
  @Test
  void aJwksFileThatIsReplacedRotatesTheSigningKey() throws Exception {
    int port = FreePorts.allocate();
    String issuer = "https://file.issuer.test/";
    TestTokens first = TestTokens.es256(issuer, "first");
    TestTokens second = TestTokens.es256(issuer, "second");
    settingsFile = dir.resolve("gateway.yaml");
    Path keys = dir.resolve("keys.json");
    Files.writeString(keys, first.jwks());
    write(
        "listeners: [{name: http, address: 127.0.0.1, port: "
            + port
            + "}]\n"
            + "jwtProviders: [{name: corp, issuer: \""
            + issuer
            + "\", anyAudience: true, jwks: {file: keys.json}}]\n");
    try (GatewayFixture gateway =
        GatewayFixture.start(
            EnvoyProcess.XdsMode.SOTW,
            config -> config.settingsFile(settingsFile).settingsPollInterval(POLL))) {
      gateway.serve("orders", "orders-1", Routes.prefix("/orders").auth(AuthSpec.jwt("corp")));
      String byFirst = first.sign(Map.of());
      String bySecond = second.sign(Map.of());
      await().atMost(REACHES_ENVOY).until(() -> status(port, byFirst) == 200);
      assertThat(status(port, bySecond)).as("a key the file does not hold").isEqualTo(401);

      Path temporary = Files.createTempFile(dir, "keys", ".json.tmp");
      Files.writeString(temporary, second.jwks());
      Files.move(
          temporary, keys, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);

      await().atMost(REACHES_ENVOY).until(() -> status(port, bySecond) == 200);
      assertThat(status(port, byFirst)).as("the replaced key").isEqualTo(401);
    }
  }

  private static int status(int port, String token) {
    return HttpProbe.get(url(port, "/orders"), Map.of("authorization", "Bearer " + token)).status();
  }

  private static String url(int port, String path) {
    return "http://127.0.0.1:" + port + path;
  }

  /**
   * Replaces the file atomically, as an operator's deploy tooling (or a Kubernetes volume) does.
   */
  private void write(String yaml) {
    try {
      Path temporary = Files.createTempFile(dir, "gateway", ".yaml.tmp");
      // Test backends listen on loopback, which the gateway refuses as an upstream unless allowed.
      Files.writeString(temporary, yaml + "\nupstreams: {allowCidrs: [127.0.0.0/8]}\n");
      Files.move(
          temporary,
          settingsFile,
          StandardCopyOption.REPLACE_EXISTING,
          StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
