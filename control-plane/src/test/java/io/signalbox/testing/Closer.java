package io.signalbox.testing;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * What a test started (control planes, Envoys, backends, clients, channels), closed in the reverse
 * order of {@link #add}: one that fails to close does not keep the others running, so no process or
 * port is left behind.
 */
public final class Closer implements AutoCloseable {

  private final List<AutoCloseable> owned = Collections.synchronizedList(new ArrayList<>());

  /** Closes {@code closeable} with the rest; returns it, for use in one expression. */
  public <T extends AutoCloseable> T add(T closeable) {
    owned.add(closeable);
    return closeable;
  }

  @Override
  public void close() {
    List<AutoCloseable> toClose;
    synchronized (owned) {
      toClose = new ArrayList<>(owned);
      owned.clear();
    }
    Collections.reverse(toClose);
    for (AutoCloseable closeable : toClose) {
      try {
        closeable.close();
      } catch (Exception ignored) {
        // Teardown goes on: the next one may be an Envoy process.
      }
    }
  }
}
