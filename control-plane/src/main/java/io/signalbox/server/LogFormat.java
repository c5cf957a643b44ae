package io.signalbox.server;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.core.joran.spi.JoranException;
import ch.qos.logback.core.joran.util.ConfigurationWatchListUtil;
import java.net.URL;
import java.util.Locale;
import org.slf4j.ILoggerFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How log lines look: {@code text} for people, {@code json} (one object per line, with the fields
 * of the event such as {@code node_id}, {@code group}, {@code service}, {@code version}) for log
 * pipelines.
 *
 * <p>logback.xml picks its appender from {@value #PROPERTY}; logback reads it when it first
 * configures itself, from the system properties or the environment. A format chosen on the command
 * line afterwards sets the property and has logback read its configuration again.
 */
public enum LogFormat {
  TEXT,
  JSON;

  public static final String PROPERTY = "SIGNALBOX_LOG_FORMAT";

  /** The appender name in logback.xml. */
  public String appenderName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * Switches logback to this format, unless it already logs in it (or is not the SLF4J backend).
   */
  public void apply() {
    System.setProperty(PROPERTY, appenderName());
    // The first call configures logback, with the property just set.
    ILoggerFactory factory = LoggerFactory.getILoggerFactory();
    if (factory instanceof LoggerContext context) {
      applyTo(context);
    }
  }

  /**
   * Reads the context's configuration file again if the context does not log in this format yet.
   */
  void applyTo(LoggerContext context) {
    if (context.getLogger(Logger.ROOT_LOGGER_NAME).getAppender(appenderName()) != null) {
      return;
    }
    URL configuration = ConfigurationWatchListUtil.getMainWatchURL(context);
    if (configuration == null) {
      return; // Configured in code, not from a file: nothing to read again.
    }
    context.reset();
    context.putProperty(PROPERTY, appenderName());
    JoranConfigurator configurator = new JoranConfigurator();
    configurator.setContext(context);
    try {
      configurator.doConfigure(configuration);
    } catch (JoranException e) {
      // Logback has reported the problem on the console; the process runs on with what it could
      // configure.
    }
  }
}
