package io.signalbox.samples.spring;

import static org.assertj.core.api.Assertions.assertThat;

import io.signalbox.config.GatewaySettings;
import io.signalbox.security.TransportSecurity;
import io.signalbox.server.ControlPlane;
import io.signalbox.server.ControlPlaneConfig;
import io.signalbox.testing.Closer;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.FreePorts;
import io.signalbox.testing.HttpProbe;
import io.signalbox.testing.LoopbackUpstreams;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.web.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The sample Spring Boot application, with only the starter and its application.yaml, behind a real
 * Envoy fed by an in-process control plane: it is routed once it is ready, and leaves Envoy's
 * routes on a graceful shutdown before its web server stops taking requests.
 */
@ExtendWith(EnvoyLogsOnFailure.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SpringBootGatewayEndToEndTest {

  private static final Duration PROPAGATION = Duration.ofSeconds(10);

  private final Closer gateway = new Closer();
  private final Closer applications = new Closer();
  private ControlPlane controlPlane;
  private int gatewayPort;

  @BeforeAll
  void startGateway() {
    gatewayPort = FreePorts.allocate();
    controlPlane =
        gateway.add(
            ControlPlane.start(
                ControlPlaneConfig.builder()
                    .transport(TransportSecurity.plaintext())
                    .grpcAddress("127.0.0.1")
                    .grpcPort(0)
                    .gateway(
                        LoopbackUpstreams.allowedIn(
                            GatewaySettings.plaintext("127.0.0.1", gatewayPort)))
                    .build()));
    EnvoyProcess envoy =
        gateway.add(
            EnvoyProcess.builder()
                .nodeId("edge-1")
                .nodeCluster("edge")
                .xdsPort(controlPlane.grpcPort())
                .xdsMode(EnvoyProcess.XdsMode.DELTA)
                .start());
    envoy.awaitReady();
  }

  @AfterEach
  void stopApplications() {
    applications.close();
  }

  @AfterAll
  void stopGateway() {
    gateway.close();
  }

  @Test
  void answersThroughEnvoyAndLeavesItWithinASecondOfAGracefulShutdownBeforeItStopsServing()
      throws Exception {
    ConfigurableApplicationContext application = startApplication();
    int applicationPort = ((WebServerApplicationContext) application).getWebServer().getPort();

    HttpProbe.Response response = HttpProbe.awaitStatus(viaEnvoy("/greetings"), 200, PROPAGATION);
    assertThat(response.body()).isEqualTo("Hello from Spring Boot");
    assertThat(HttpProbe.get(viaEnvoy("/greetings/envoy")).body()).isEqualTo("Hello, envoy");

    Probe throughEnvoy = applications.add(new Probe(viaEnvoy("/greetings")));
    Probe direct =
        applications.add(new Probe("http://127.0.0.1:" + applicationPort + "/greetings"));
    long closeStarted = System.nanoTime();
    application.close();
    long closeEnded = System.nanoTime();
    // Long enough after the close for a late 200 or a 503 to show up.
    Thread.sleep(500);
    List<Answer> gatewayAnswers = throughEnvoy.stop();
    List<Answer> directAnswers = direct.stop();

    Answer firstNotFound =
        gatewayAnswers.stream().filter(answer -> answer.status() == 404).findFirst().orElseThrow();
    assertThat(Duration.ofNanos(firstNotFound.sentAt() - closeStarted))
        .as("route gone from Envoy after the close started")
        .isLessThan(Duration.ofSeconds(1));
    assertThat(
            gatewayAnswers.stream()
                .map(Answer::status)
                .dropWhile(status -> status == 200)
                .distinct())
        .as("Envoy answered 200 until the route went, then 404: never a 503 from a closed port")
        .containsExactly(404);

    Answer firstRefused =
        directAnswers.stream().filter(answer -> answer.status() != 200).findFirst().orElseThrow();
    assertThat(firstRefused.sentAt())
        .as("the application stopped serving only after Envoy stopped routing to it")
        .isGreaterThan(firstNotFound.sentAt())
        .isLessThan(closeEnded);
  }

  @Test
  void derivesItsRoutesFromItsRequestMappingsWhenAskedTo() {
    // An empty list on the command line replaces the routes of application.yaml; below a context
    // path, only derived routes can reach the handlers.
    startApplication(
        "--signalbox.routes=",
        "--signalbox.derive-routes-from-handlers=true",
        "--server.servlet.context-path=/derived");

    // /greetings and /greetings/{name} below the context path: one prefix route.
    assertThat(
            HttpProbe.awaitStatus(viaEnvoy("/derived/greetings/handlers"), 200, PROPAGATION).body())
        .isEqualTo("Hello, handlers");
    assertThat(HttpProbe.get(viaEnvoy("/derived/greetings")).body())
        .isEqualTo("Hello from Spring Boot");
    assertThat(HttpProbe.get(viaEnvoy("/greetings")).status())
        .as("application.yaml's route")
        .isEqualTo(404);
    // Actuator's endpoints and the error controller are not the application's handlers.
    assertThat(HttpProbe.get(viaEnvoy("/derived/actuator/health")).status()).isEqualTo(404);
    assertThat(HttpProbe.get(viaEnvoy("/derived/error")).status()).isEqualTo(404);
  }

  private ConfigurableApplicationContext startApplication(String... arguments) {
    String[] common = {
      "--server.port=0",
      "--spring.profiles.active=plaintext",
      "--signalbox.target=127.0.0.1:" + controlPlane.grpcPort(),
      "--signalbox.advertised-host=127.0.0.1",
      "--spring.main.register-shutdown-hook=false",
      "--spring.main.banner-mode=off",
      "--logging.level.io.signalbox.spring=INFO"
    };
    return applications.add(
        SpringApplication.run(
            GreetingsApplication.class,
            Stream.concat(Stream.of(common), Stream.of(arguments)).toArray(String[]::new)));
  }

  private String viaEnvoy(String path) {
    return "http://127.0.0.1:" + gatewayPort + path;
  }

  /** One GET: when it was sent, and its status, or -1 when it got no answer. */
  record Answer(long sentAt, int status) {}

  /** GETs one URL back to back on its own thread, so a request that hangs delays no other probe. */
  private static final class Probe implements AutoCloseable {

    private final List<Answer> answers = new ArrayList<>();
    private final Thread thread;
    private volatile boolean stopped;

    Probe(String url) {
      thread =
          new Thread(
              () -> {
                while (!stopped) {
                  long sentAt = System.nanoTime();
                  int status;
                  try {
                    status = HttpProbe.get(url).status();
                  } catch (RuntimeException e) {
                    status = -1;
                  }
                  synchronized (answers) {
                    answers.add(new Answer(sentAt, status));
                  }
                }
              },
              "probe " + url);
      thread.setDaemon(true);
      thread.start();
    }

    @Override
    public void close() {
      stopped = true;
    }

    List<Answer> stop() throws InterruptedException {
      stopped = true;
      thread.join(Duration.ofSeconds(10).toMillis());
      synchronized (answers) {
        return List.copyOf(answers);
      }
    }
  }
}
