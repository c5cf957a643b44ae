package io.signalbox.server;

import ch.qos.logback.classic.pattern.ClassicConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;

/**
 * A log message with its control characters escaped ({@code \n}, {@code \r}, {@code \t}, {@code
 * \u001b}, ...), for the text log format. Messages carry values from outside (node ids, service
 * names, Envoy's NACK details): with a raw CR/LF in one, a client could forge whole log lines. The
 * JSON format escapes them already.
 */
public final class EscapedMessageConverter extends ClassicConverter {

  @Override
  public String convert(ILoggingEvent event) {
    return escape(event.getFormattedMessage());
  }

  static String escape(String message) {
    if (message == null) {
      return "";
    }
    StringBuilder escaped = null;
    for (int i = 0; i < message.length(); i++) {
      char c = message.charAt(i);
      boolean control = Character.isISOControl(c) || c == '\u2028' || c == '\u2029';
      if (control && escaped == null) {
        escaped = new StringBuilder(message.length() + 16).append(message, 0, i);
      }
      if (escaped != null) {
        if (!control) {
          escaped.append(c);
        } else if (c == '\n') {
          escaped.append("\\n");
        } else if (c == '\r') {
          escaped.append("\\r");
        } else if (c == '\t') {
          escaped.append("\\t");
        } else {
          escaped.append(String.format("\\u%04x", (int) c));
        }
      }
    }
    return escaped == null ? message : escaped.toString();
  }
}
