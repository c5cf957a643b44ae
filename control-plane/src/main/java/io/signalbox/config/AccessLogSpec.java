package io.signalbox.config;

import java.util.Objects;

/**
 * Where every gateway listener writes one JSON line per request: {@code /dev/stdout}, {@code
 * /dev/stderr} or a file on Envoy's host.
 */
public record AccessLogSpec(String path) {

  public AccessLogSpec {
    Objects.requireNonNull(path, "path");
  }
}
