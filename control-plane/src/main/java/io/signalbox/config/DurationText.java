package io.signalbox.config;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations as operators write them, in the settings file and on command lines alike. */
public final class DurationText {

  private static final Pattern SHORT = Pattern.compile("(\\d+)(ms|s|m|h)");

  private DurationText() {}

  /**
   * Parses "500ms", "10s", "5m", "1h" or ISO-8601 "PT10S".
   *
   * @throws IllegalArgumentException naming the text when it is none of these
   */
  public static Duration parse(String text) {
    String value = text.trim().toLowerCase(Locale.ROOT);
    Matcher matcher = SHORT.matcher(value);
    if (matcher.matches()) {
      long amount = Long.parseLong(matcher.group(1));
      return switch (matcher.group(2)) {
        case "ms" -> Duration.ofMillis(amount);
        case "s" -> Duration.ofSeconds(amount);
        case "m" -> Duration.ofMinutes(amount);
        default -> Duration.ofHours(amount);
      };
    }
    try {
      return Duration.parse(value.toUpperCase(Locale.ROOT));
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException(
          "'" + text + "' is not a duration such as 500ms, 10s or 5m", e);
    }
  }
}
