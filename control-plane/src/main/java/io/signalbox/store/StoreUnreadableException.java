package io.signalbox.store;

import java.nio.file.Path;

/**
 * The data directory cannot be read, or holds something this version cannot understand. The control
 * plane refuses to start then: starting empty would withdraw every route from the fleet and, once
 * saved, lose it for good.
 */
public final class StoreUnreadableException extends RuntimeException {

  private final Path file;

  public StoreUnreadableException(Path file, String reason, Throwable cause) {
    super("cannot read the registry store " + file + ": " + reason, cause);
    this.file = file;
  }

  public Path file() {
    return file;
  }
}
