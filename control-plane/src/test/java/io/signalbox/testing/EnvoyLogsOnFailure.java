package io.signalbox.testing;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * When a test fails, prints the log tail of every {@link EnvoyProcess} started during that test,
 * and of any still running (e.g. one shared by the whole class), to stderr. Use with
 * {@code @ExtendWith(EnvoyLogsOnFailure.class)}.
 */
public final class EnvoyLogsOnFailure implements BeforeEachCallback, TestWatcher {

  private static final int TAIL_LINES = 200;

  // Keyed by test id rather than kept in the ExtensionContext store: since JUnit 5.11 the
  // method-level store may
  // already be closed, and refuse queries, by the time TestWatcher methods run.
  private final Map<String, Long> lastSerialBeforeTest = new ConcurrentHashMap<>();

  @Override
  public void beforeEach(ExtensionContext context) {
    lastSerialBeforeTest.put(context.getUniqueId(), LaunchedEnvoys.latestSerial());
  }

  @Override
  public void testFailed(ExtensionContext context, Throwable cause) {
    // Without a beforeEach mark (the failure came earlier), every remembered Envoy may be relevant.
    long since = Optional.ofNullable(lastSerialBeforeTest.remove(context.getUniqueId())).orElse(0L);
    List<EnvoyProcess> envoys = LaunchedEnvoys.startedAfterOrAlive(since);
    StringBuilder report = new StringBuilder();
    for (EnvoyProcess envoy : envoys) {
      report
          .append("===== ")
          .append(context.getDisplayName())
          .append(" failed; last ")
          .append(TAIL_LINES)
          .append(" lines of ")
          .append(envoy)
          .append(" =====\n")
          .append(envoy.logTail(TAIL_LINES))
          .append('\n')
          .append("===== end of ")
          .append(envoy.nodeId())
          .append(" log (full log: ")
          .append(envoy.logFile())
          .append(") =====\n");
    }
    System.err.print(report);
  }

  @Override
  public void testSuccessful(ExtensionContext context) {
    lastSerialBeforeTest.remove(context.getUniqueId());
  }

  @Override
  public void testAborted(ExtensionContext context, Throwable cause) {
    lastSerialBeforeTest.remove(context.getUniqueId());
  }
}
