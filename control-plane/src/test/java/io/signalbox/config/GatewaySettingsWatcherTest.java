package io.signalbox.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The watcher is driven by calling {@code poll()} directly; its own schedule is set far in the
 * future.
 */
class GatewaySettingsWatcherTest {

  private static final Duration NEVER = Duration.ofHours(1);

  @TempDir Path dir;

  private final List<GatewaySettings> applied = new CopyOnWriteArrayList<>();
  private GatewaySettingsWatcher watcher;

  @AfterEach
  void stop() {
    if (watcher != null) {
      watcher.close();
    }
  }

  private Path write(String yaml) throws IOException {
    Path file = dir.resolve("gateway.yaml");
    Files.writeString(file, yaml);
    return file;
  }

  @Test
  void aValidChangeIsAppliedOnceTheFileHasHeldStillForOnePoll() throws IOException {
    watcher =
        GatewaySettingsWatcher.start(
            write("listeners: [{name: http, port: 8080}]"), NEVER, applied::add);
    write("listeners: [{name: http, port: 9090}]");

    watcher.poll();
    assertThat(applied).as("just changed: might be half-written").isEmpty();
    watcher.poll();

    assertThat(applied)
        .singleElement()
        .satisfies(s -> assertThat(s.listeners().get(0).port()).isEqualTo(9090));
    assertThat(watcher.current()).isEqualTo(applied.get(0));
  }

  @Test
  void anInvalidFileIsRejectedAndTheLastGoodSettingsStay() throws IOException {
    watcher =
        GatewaySettingsWatcher.start(
            write("listeners: [{name: http, port: 8080}]"), NEVER, applied::add);
    GatewaySettings good = watcher.current();
    write("listeners: [{name: http, port: 123456}]");

    watcher.poll();
    watcher.poll();

    assertThat(applied).isEmpty();
    assertThat(watcher.current()).isEqualTo(good);
    assertThat(watcher.lastError()).contains("listeners[0].port");
  }

  @Test
  void aFixAfterAnInvalidVersionIsApplied() throws IOException {
    watcher =
        GatewaySettingsWatcher.start(
            write("listeners: [{name: http, port: 8080}]"), NEVER, applied::add);
    write("listeners: [{name: http, port: -1}]");
    watcher.poll();
    watcher.poll();
    write("listeners: [{name: http, port: 8081}]");
    watcher.poll();
    watcher.poll();

    assertThat(applied)
        .singleElement()
        .satisfies(s -> assertThat(s.listeners().get(0).port()).isEqualTo(8081));
    assertThat(watcher.lastError()).isNull();
  }

  @Test
  void aChangeInAFileTheSettingsNameIsAReload() throws IOException {
    String first = "{\"keys\": [{\"kty\": \"OKP\", \"crv\": \"Ed25519\", \"x\": \"AAAA\"}]}";
    String second = "{\"keys\": [{\"kty\": \"OKP\", \"crv\": \"Ed25519\", \"x\": \"BBBB\"}]}";
    Files.writeString(dir.resolve("keys.json"), first);
    watcher =
        GatewaySettingsWatcher.start(
            write(
                "jwtProviders: [{name: corp, issuer: x, anyAudience: true, jwks: {file: keys.json}}]"),
            NEVER,
            applied::add);
    Files.writeString(dir.resolve("keys.json"), second);

    watcher.poll();
    watcher.poll();

    assertThat(applied)
        .singleElement()
        .satisfies(
            s ->
                assertThat(s.jwtProvider("corp").orElseThrow().jwks())
                    .isEqualTo(new JwtProviderSpec.FileJwks(dir.resolve("keys.json"), second)));
  }

  @Test
  void anUnchangedFileIsNotReapplied() throws IOException {
    watcher =
        GatewaySettingsWatcher.start(
            write("listeners: [{name: http, port: 8080}]"), NEVER, applied::add);

    watcher.poll();
    watcher.poll();

    assertThat(applied).isEmpty();
  }

  @Test
  void anInvalidFileAtStartupIsAnErrorNotAnEmptyGateway() throws IOException {
    Path file = write("listeners: [{name: http}]");

    assertThatThrownBy(() -> GatewaySettingsWatcher.start(file, NEVER, applied::add))
        .isInstanceOf(InvalidSettingsException.class)
        .hasMessageContaining("listeners[0].port");
  }

  @Test
  void aMissingFileAtStartupIsAnError() {
    assertThatThrownBy(
            () -> GatewaySettingsWatcher.start(dir.resolve("absent.yaml"), NEVER, applied::add))
        .isInstanceOf(InvalidSettingsException.class)
        .hasMessageContaining("cannot read");
  }
}
