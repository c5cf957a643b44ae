package io.signalbox.bench;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.LoggerFactory;

/**
 * Collects the in-process SnapshotPublisher's "Built snapshot ... in N us" debug lines: the time to
 * translate the whole registry state and content-hash the result, per snapshot.
 */
final class PublisherTrace extends AppenderBase<ILoggingEvent> implements AutoCloseable {

  private static final String PUBLISHER = "io.signalbox.xds.SnapshotPublisher";
  private static final Pattern BUILT = Pattern.compile("Built snapshot .* in (\\d+) us");

  private final Stats buildNanos = new Stats();
  private final Logger logger;
  private boolean recording;

  private PublisherTrace(Logger logger) {
    this.logger = logger;
  }

  static PublisherTrace attach() {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
      throw new IllegalStateException("logback is not the SLF4J backend");
    }
    Logger logger = context.getLogger(PUBLISHER);
    PublisherTrace trace = new PublisherTrace(logger);
    trace.setContext(context);
    trace.setName("bench-publisher-trace");
    trace.start();
    logger.addAppender(trace);
    logger.setLevel(Level.DEBUG);
    // Debug lines go only to this appender, not to the console.
    logger.setAdditive(false);
    return trace;
  }

  /** Only snapshots built from now on count (e.g. after warmup). */
  synchronized void record(boolean on) {
    recording = on;
  }

  synchronized Stats buildTimes() {
    return buildNanos;
  }

  @Override
  protected synchronized void append(ILoggingEvent event) {
    if (!recording) {
      return;
    }
    Matcher m = BUILT.matcher(event.getFormattedMessage());
    if (m.find()) {
      buildNanos.add(Long.parseLong(m.group(1)) * 1000);
    }
  }

  @Override
  public void close() {
    logger.detachAppender(this);
    logger.setLevel(null);
    logger.setAdditive(true);
    stop();
  }
}
