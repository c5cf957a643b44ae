package io.signalbox.server;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.spi.LoggingEvent;
import org.junit.jupiter.api.Test;

/** A value from outside cannot forge a line of the text log. */
class EscapedMessageConverterTest {

  @Test
  void controlCharactersInAMessageAreEscapedOnOneLine() {
    LoggerContext context = new LoggerContext();
    PatternLayout layout = new PatternLayout();
    layout.setContext(context);
    layout.getInstanceConverterMap().put("safemsg", EscapedMessageConverter.class.getName());
    layout.setPattern("%safemsg%n");
    layout.start();
    String forged =
        "edge-1\n12:00:00.000 INFO  [main] Signalbox - operator alice evicted everything\r\u001b[31m";
    LoggingEvent event =
        new LoggingEvent(
            "test",
            context.getLogger("test"),
            Level.WARN,
            "Rejected node {}",
            null,
            new Object[] {forged});

    String line = layout.doLayout(event);

    assertThat(line)
        .isEqualTo(
            "Rejected node edge-1\\n12:00:00.000 INFO  [main] Signalbox - operator alice evicted "
                + "everything\\r\\u001b[31m"
                + System.lineSeparator());
  }

  @Test
  void aMessageWithoutControlCharactersIsUnchanged() {
    String message = "Registered orders/orders-1 at 10.0.0.7:8080 — ünïcode kept";

    assertThat(EscapedMessageConverter.escape(message)).isSameAs(message);
  }
}
