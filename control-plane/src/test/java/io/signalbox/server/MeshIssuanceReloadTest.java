package io.signalbox.server;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.signalbox.config.GatewaySettings;
import io.signalbox.config.SidecarSettings;
import io.signalbox.testing.TestControlPlanes;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The mesh CA is made at start: a settings reload that changes what workload certificates are
 * issued by or for says, loudly, that it takes effect only at a restart; one that does not, says
 * nothing.
 */
class MeshIssuanceReloadTest {

  private ControlPlane controlPlane;
  private final ListAppender<ILoggingEvent> lines = new ListAppender<>();
  private final Logger logger = (Logger) LoggerFactory.getLogger(ControlPlane.class);

  @BeforeEach
  void start() {
    controlPlane =
        ControlPlane.start(TestControlPlanes.onLoopback().gateway(GatewaySettings.DEFAULT).build());
    lines.start();
    logger.addAppender(lines);
  }

  @AfterEach
  void stop() {
    logger.detachAppender(lines);
    controlPlane.close();
  }

  private long warnings() {
    return lines.list.stream()
        .filter(line -> line.getLevel() == Level.WARN)
        .filter(line -> line.getFormattedMessage().contains("until the control plane restarts"))
        .count();
  }

  @Test
  void aReloadThatChangesTheCertificateValiditySaysItWaitsForARestart() {
    controlPlane.updateSettings(
        GatewaySettings.DEFAULT.toBuilder()
            .sidecars(new SidecarSettings("127.0.0.1", 15001, Duration.ofHours(2), Map.of()))
            .build());

    assertThat(warnings()).isEqualTo(1);
  }

  @Test
  void aReloadOfOtherSettingsSaysNothingOfCertificates() {
    controlPlane.updateSettings(
        GatewaySettings.DEFAULT.toBuilder()
            .sidecars(new SidecarSettings("127.0.0.1", 15002))
            .build());

    assertThat(warnings()).isZero();
  }
}
