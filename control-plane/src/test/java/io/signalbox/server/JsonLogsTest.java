package io.signalbox.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.OutputStreamAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.signalbox.config.GatewaySettings;
import io.signalbox.registry.v1.Instance;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.RegisterResponse;
import io.signalbox.registry.v1.RegistryGrpc;
import io.signalbox.registry.v1.Route;
import io.signalbox.testing.FakeAdsClient;
import io.signalbox.testing.LoopbackUpstreams;
import io.signalbox.testing.TestControlPlanes;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import net.logstash.logback.encoder.LogstashEncoder;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.slf4j.event.KeyValuePair;

/**
 * JSON logs: logback.xml switches to one JSON object per line when asked, and the lines about a
 * node, a service or a snapshot carry node_id, group, type, service, instance and version as fields
 * of their own.
 */
class JsonLogsTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration PATIENCE = Duration.ofSeconds(5);

  private static LoggerContext configured(Optional<String> format) throws Exception {
    LoggerContext context = new LoggerContext();
    context.setMDCAdapter(new ch.qos.logback.classic.util.LogbackMDCAdapter());
    format.ifPresent(f -> context.putProperty(LogFormat.PROPERTY, f));
    JoranConfigurator configurator = new JoranConfigurator();
    configurator.setContext(context);
    configurator.doConfigure(JsonLogsTest.class.getResource("/logback.xml"));
    return context;
  }

  private static Appender<ILoggingEvent> rootAppender(LoggerContext context, String name) {
    return context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).getAppender(name);
  }

  @Test
  void theShippedConfigurationWritesTextUnlessJsonIsAskedFor() throws Exception {
    LoggerContext text = configured(Optional.empty());
    assertThat(rootAppender(text, "text"))
        .isInstanceOfSatisfying(
            ConsoleAppender.class,
            appender -> assertThat(appender.getEncoder()).isInstanceOf(PatternLayoutEncoder.class));
    assertThat(rootAppender(text, "json")).isNull();
    text.stop();

    LoggerContext json = configured(Optional.of("json"));
    assertThat(rootAppender(json, "text")).isNull();
    ConsoleAppender<ILoggingEvent> appender =
        (ConsoleAppender<ILoggingEvent>) rootAppender(json, "json");
    assertThat(appender.getEncoder()).isInstanceOf(LogstashEncoder.class);

    LoggingEvent event =
        new LoggingEvent(
            JsonLogsTest.class.getName(),
            json.getLogger("io.signalbox.xds.X"),
            Level.WARN,
            "NACK from node={}",
            null,
            new Object[] {"edge-1"});
    event.addKeyValuePair(new KeyValuePair("node_id", "edge-1"));
    event.addKeyValuePair(new KeyValuePair("group", "edge"));
    String line = new String(appender.getEncoder().encode(event), StandardCharsets.UTF_8);
    assertThat(line).endsWith("\n").doesNotContain("\n{");
    JsonNode parsed = JSON.readTree(line);
    assertThat(parsed.path("message").asText()).isEqualTo("NACK from node=edge-1");
    assertThat(parsed.path("level").asText()).isEqualTo("WARN");
    assertThat(parsed.path("logger_name").asText()).isEqualTo("io.signalbox.xds.X");
    assertThat(parsed.path("node_id").asText()).isEqualTo("edge-1");
    assertThat(parsed.path("group").asText()).isEqualTo("edge");
    assertThat(parsed.has("@timestamp")).isTrue();
    assertThat(parsed.has("@version")).isFalse();
    assertThat(parsed.has("level_value")).isFalse();
    json.stop();
  }

  @Test
  void aLogFormatChosenAfterLogbackStartedReconfiguresIt() throws Exception {
    LoggerContext context = configured(Optional.empty());
    LogFormat.JSON.applyTo(context);
    assertThat(rootAppender(context, "json")).isNotNull();
    assertThat(rootAppender(context, "text")).isNull();
    assertThat(context.getLogger("io.grpc.netty").getLevel())
        .as("the rest of logback.xml still applies")
        .isEqualTo(Level.WARN);

    LogFormat.TEXT.applyTo(context);
    assertThat(rootAppender(context, "text")).isNotNull();
    assertThat(rootAppender(context, "json")).isNull();
    context.stop();
  }

  @Test
  void theCommandLineTakesTextOrJsonInAnyCase() {
    SignalboxMain.LogFormatConverter converter = new SignalboxMain.LogFormatConverter();
    assertThat(converter.convert("json")).isEqualTo(LogFormat.JSON);
    assertThat(converter.convert("TEXT")).isEqualTo(LogFormat.TEXT);
    assertThatThrownBy(() -> converter.convert("xml"))
        .hasMessageContaining("'xml' is not a log format");
  }

  @Test
  void registrationNackAndSnapshotLinesCarryTheirFields() throws Exception {
    List<JsonNode> lines = new ArrayList<>();
    String leaseId;
    String listenersVersion;
    String snapshotVersion;
    try (JsonCapture capture = JsonCapture.start();
        ControlPlane controlPlane =
            ControlPlane.start(
                TestControlPlanes.onLoopback()
                    .gateway(LoopbackUpstreams.allowedIn(GatewaySettings.DEFAULT))
                    .build())) {
      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", controlPlane.grpcPort())
              .usePlaintext()
              .build();
      try {
        RegistryGrpc.RegistryBlockingStub registry =
            RegistryGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS);
        RegisterResponse registered =
            registry.register(
                RegisterRequest.newBuilder()
                    .setService("orders")
                    .setInstance(
                        Instance.newBuilder().setId("orders-1").setHost("127.0.0.1").setPort(9))
                    .addRoutes(
                        Route.newBuilder().setPath(PathMatch.newBuilder().setPrefix("/orders")))
                    .build());
        leaseId = registered.getLeaseId();
        assertThatThrownBy(
                () ->
                    registry.register(
                        RegisterRequest.newBuilder()
                            .setService("users")
                            .setInstance(
                                Instance.newBuilder()
                                    .setId("users-1")
                                    .setHost("127.0.0.1")
                                    .setPort(0))
                            .build()))
            .isInstanceOf(StatusRuntimeException.class);
      } finally {
        channel.shutdownNow();
      }
      try (FakeAdsClient canary =
          FakeAdsClient.sotw(
              controlPlane.grpcPort(),
              FakeAdsClient.node("logs-canary-1", "logs-canary"),
              Set.of(FakeAdsClient.LISTENERS))) {
        await().atMost(PATIENCE).until(() -> controlPlane.xdsCallbacks().nackCount() >= 1);
      }
      listenersVersion = controlPlane.publisher().current().version(ResourceType.LISTENER);
      snapshotVersion = controlPlane.publisher().current().version();
      for (String line : capture.lines()) {
        lines.add(JSON.readTree(line));
      }
    }

    JsonNode registered = only(lines, "Registered orders/orders-1");
    assertThat(registered.path("service").asText()).isEqualTo("orders");
    assertThat(registered.path("instance").asText()).isEqualTo("orders-1");

    JsonNode rejected = only(lines, "Rejected registration of service 'users'");
    assertThat(rejected.path("service").asText()).isEqualTo("users");
    assertThat(rejected.path("instance").asText()).isEqualTo("users-1");
    assertThat(rejected.path("level").asText()).isEqualTo("INFO");

    JsonNode connected = only(lines, "Envoy connected: node=logs-canary-1");
    assertThat(connected.path("node_id").asText()).isEqualTo("logs-canary-1");
    assertThat(connected.path("group").asText()).isEqualTo("logs-canary");

    JsonNode nack = only(lines, "NACK from node=logs-canary-1");
    assertThat(nack.path("level").asText()).isEqualTo("WARN");
    assertThat(nack.path("node_id").asText()).isEqualTo("logs-canary-1");
    assertThat(nack.path("group").asText()).isEqualTo("logs-canary");
    assertThat(nack.path("type").asText()).isEqualTo("listeners");
    assertThat(nack.path("version").asText())
        .as("the rejected version")
        .isEqualTo(listenersVersion);
    assertThat(nack.path("message").asText()).contains("rejected by the test");

    assertThat(lines)
        .filteredOn(line -> line.path("message").asText().startsWith("Built snapshot"))
        .isNotEmpty()
        .allSatisfy(
            line ->
                assertThat(line.path("message").asText()).contains(line.path("version").asText()))
        .anySatisfy(line -> assertThat(line.path("version").asText()).isEqualTo(snapshotVersion));

    // The lease id lets its holder renew and deregister the instance: it is a credential.
    assertThat(lines).allSatisfy(line -> assertThat(line.toString()).doesNotContain(leaseId));
  }

  private static JsonNode only(List<JsonNode> lines, String messagePrefix) {
    List<JsonNode> matching =
        lines.stream()
            .filter(line -> line.path("message").asText().startsWith(messagePrefix))
            .toList();
    assertThat(matching).as("lines starting with '%s' in %s", messagePrefix, lines).hasSize(1);
    return matching.get(0);
  }

  /** JSON lines of everything io.signalbox logs, down to DEBUG, while open. */
  private static final class JsonCapture implements AutoCloseable {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final OutputStreamAppender<ILoggingEvent> appender = new OutputStreamAppender<>();
    private final ch.qos.logback.classic.Logger logger =
        (ch.qos.logback.classic.Logger) LoggerFactory.getLogger("io.signalbox");
    private final Level previousLevel = logger.getLevel();

    static JsonCapture start() {
      JsonCapture capture = new JsonCapture();
      LoggerContext context = capture.logger.getLoggerContext();
      LogstashEncoder encoder = new LogstashEncoder();
      encoder.setContext(context);
      encoder.start();
      capture.appender.setContext(context);
      capture.appender.setName("json-capture");
      capture.appender.setEncoder(encoder);
      capture.appender.setOutputStream(capture.out);
      capture.appender.start();
      capture.logger.addAppender(capture.appender);
      capture.logger.setLevel(Level.DEBUG);
      // Only into the capture: the console of the test run stays at WARN.
      capture.logger.setAdditive(false);
      return capture;
    }

    List<String> lines() {
      String text;
      synchronized (appender) {
        text = out.toString(StandardCharsets.UTF_8);
      }
      return text.lines().toList();
    }

    @Override
    public void close() {
      logger.detachAppender(appender);
      logger.setLevel(previousLevel);
      logger.setAdditive(true);
      appender.stop();
    }
  }
}
