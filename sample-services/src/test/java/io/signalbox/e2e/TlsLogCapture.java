package io.signalbox.e2e;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.StackTraceElementProxy;
import ch.qos.logback.core.read.ListAppender;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * Records everything the control plane (and java-control-plane under it) logs, down to DEBUG, while
 * open: for checking that no secret reaches a log line, an exception message or a stack trace.
 */
final class TlsLogCapture implements AutoCloseable {

  private static final List<String> LOGGERS = List.of("io.signalbox", "io.envoyproxy");

  private final ListAppender<ILoggingEvent> appender = new ListAppender<>();
  private final List<Logger> loggers = new ArrayList<>();
  private final List<Level> previousLevels = new ArrayList<>();

  private TlsLogCapture() {}

  static TlsLogCapture start() {
    TlsLogCapture capture = new TlsLogCapture();
    capture.appender.setName("tls-log-capture");
    capture.appender.start();
    for (String name : LOGGERS) {
      Logger logger = (Logger) LoggerFactory.getLogger(name);
      capture.loggers.add(logger);
      capture.previousLevels.add(logger.getLevel());
      logger.setLevel(Level.DEBUG);
      logger.addAppender(capture.appender);
    }
    return capture;
  }

  /**
   * Every recorded event as text: level, logger, message, and any exception with its causes and
   * stack.
   */
  List<String> lines() {
    // AppenderBase appends while holding the appender's monitor.
    synchronized (appender) {
      return appender.list.stream().map(TlsLogCapture::text).toList();
    }
  }

  private static String text(ILoggingEvent event) {
    StringBuilder text =
        new StringBuilder()
            .append(event.getLevel())
            .append(' ')
            .append(event.getLoggerName())
            .append(" - ")
            .append(event.getFormattedMessage());
    for (IThrowableProxy thrown = event.getThrowableProxy();
        thrown != null;
        thrown = thrown.getCause()) {
      text.append("\n").append(thrown.getClassName()).append(": ").append(thrown.getMessage());
      for (StackTraceElementProxy frame : thrown.getStackTraceElementProxyArray()) {
        text.append("\n\t").append(frame.getSTEAsString());
      }
    }
    return text.toString();
  }

  @Override
  public void close() {
    for (int i = 0; i < loggers.size(); i++) {
      loggers.get(i).detachAppender(appender);
      loggers.get(i).setLevel(previousLevels.get(i));
    }
    appender.stop();
  }
}
