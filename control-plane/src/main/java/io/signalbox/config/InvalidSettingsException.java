package io.signalbox.config;

/**
 * The gateway settings file cannot be used. The message names where: a line and column for YAML
 * errors, a field path such as {@code listeners[1].port} otherwise. It never contains key material.
 */
public final class InvalidSettingsException extends RuntimeException {

  public InvalidSettingsException(String message) {
    super(message);
  }

  public InvalidSettingsException(String message, Throwable cause) {
    super(message, cause);
  }
}
