package io.signalbox.security;

import java.util.Objects;

/**
 * Names one identity ({@code spiffe://corp/service/orders}) or, ending in {@code /*}, every
 * identity below a path ({@code spiffe://corp/ns/payments/*} matches {@code
 * spiffe://corp/ns/payments/api} and deeper ones).
 */
public record IdentityPattern(String pattern) {

  public IdentityPattern {
    Objects.requireNonNull(pattern, "pattern");
    if (pattern.isEmpty()) {
      throw new IllegalArgumentException("is empty");
    }
    int star = pattern.indexOf('*');
    if (star >= 0
        && (star != pattern.length() - 1 || !pattern.endsWith("/*") || pattern.length() < 3)) {
      throw new IllegalArgumentException(
          "'"
              + pattern
              + "': '*' may only stand alone as the last path segment "
              + "(e.g. spiffe://corp/ns/payments/*)");
    }
  }

  public boolean matches(Identity identity) {
    if (pattern.endsWith("/*")) {
      String base = pattern.substring(0, pattern.length() - 1);
      return identity.value().startsWith(base) && identity.value().length() > base.length();
    }
    return pattern.equals(identity.value());
  }

  @Override
  public String toString() {
    return pattern;
  }
}
