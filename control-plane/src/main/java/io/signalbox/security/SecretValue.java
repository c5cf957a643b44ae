package io.signalbox.security;

import java.util.Objects;

/**
 * Secret material, such as a TLS private key. It prints as {@code [redacted]}, so logging a
 * setting, an exception message or a record that holds one never leaks it; only {@link #reveal()}
 * gives the value, for the one place that must hand it to Envoy.
 */
public final class SecretValue {

  private final String value;

  private SecretValue(String value) {
    this.value = Objects.requireNonNull(value, "value");
  }

  public static SecretValue of(String value) {
    return new SecretValue(value);
  }

  public String reveal() {
    return value;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof SecretValue secret && secret.value.equals(value);
  }

  @Override
  public int hashCode() {
    return value.hashCode();
  }

  @Override
  public String toString() {
    return "[redacted]";
  }
}
