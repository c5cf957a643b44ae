package io.signalbox.config;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Amounts of memory as operators write them in the settings file: binary units only, so 1MiB is
 * never 10^6.
 */
final class ByteSizeText {

  private static final Pattern SIZE = Pattern.compile("(\\d{1,12})\\s*(B|KiB|MiB|GiB)?");

  private ByteSizeText() {}

  /**
   * Parses "1048576", "512KiB", "32MiB" or "1GiB" into bytes.
   *
   * @throws IllegalArgumentException naming the text when it is none of these
   */
  static long parse(String text) {
    Matcher matcher = SIZE.matcher(text.trim());
    if (!matcher.matches()) {
      throw new IllegalArgumentException(
          "'" + text + "' is not a size such as 512KiB, 32MiB or 1GiB");
    }
    long amount = Long.parseLong(matcher.group(1));
    String unit = matcher.group(2) == null ? "B" : matcher.group(2);
    int shift =
        switch (unit) {
          case "KiB" -> 10;
          case "MiB" -> 20;
          case "GiB" -> 30;
          default -> 0;
        };
    if (amount > Long.MAX_VALUE >> shift) {
      throw new IllegalArgumentException("'" + text + "' is too large");
    }
    return amount << shift;
  }
}
