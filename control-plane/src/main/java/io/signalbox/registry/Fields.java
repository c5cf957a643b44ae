package io.signalbox.registry;

import java.util.regex.Pattern;

/** What the registration validators share: how a refusal names its field, and common syntax. */
final class Fields {

  /** An HTTP header name as Envoy sees it: a lowercase token. */
  static final Pattern HEADER_NAME = Pattern.compile("[a-z0-9!#$%&'*+.^_`|~-]{1,128}");

  private Fields() {}

  /** A value short enough to quote in an error. */
  static String abbreviate(String value) {
    return value.length() <= 64 ? value : value.substring(0, 61) + "...";
  }

  /**
   * @throws InvalidFieldException naming {@code field} with {@code message} unless {@code
   *     condition}
   */
  static void check(boolean condition, String field, String message) {
    if (!condition) {
      throw new InvalidFieldException(field, message);
    }
  }
}
