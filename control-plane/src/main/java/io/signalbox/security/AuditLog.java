package io.signalbox.security;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who changed what, when, and how it ended: one JSON object per line for every registry change
 * (register, deregister) and every admin call, to the logger {@value #LOGGER} and, when given, a
 * file of its own (created 0600, appended to, flushed per line). Values are JSON-escaped, so a
 * hostile service name cannot forge a line; lease ids, keys and tokens are never recorded.
 */
public final class AuditLog implements AutoCloseable {

  public static final String LOGGER = "signalbox.audit";

  private static final Logger log = LoggerFactory.getLogger(LOGGER);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** How a recorded action ended. */
  public enum Outcome {
    OK,
    DENIED,
    REFUSED,
    FAILED
  }

  private final Clock clock;
  private final Optional<Writer> file;

  private AuditLog(Clock clock, Optional<Writer> file) {
    this.clock = clock;
    this.file = file;
  }

  /** Records to the {@value #LOGGER} logger only. */
  public static AuditLog toLogger(Clock clock) {
    return new AuditLog(clock, Optional.empty());
  }

  /**
   * Records to the logger and appends to {@code path} (created owner-only when missing).
   *
   * @throws UncheckedIOException when the file cannot be opened
   */
  public static AuditLog toFile(Clock clock, Path path) {
    try {
      if (!Files.exists(path)) {
        Path parent = path.toAbsolutePath().getParent();
        if (parent != null) {
          Files.createDirectories(parent);
        }
        try {
          Files.createFile(
              path,
              PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException e) {
          Files.createFile(path);
        }
      }
      return new AuditLog(
          clock,
          Optional.of(
              Files.newBufferedWriter(path, StandardCharsets.UTF_8, StandardOpenOption.APPEND)));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open the audit log " + path, e);
    }
  }

  /**
   * Records one action.
   *
   * @param who the caller's identity
   * @param action what was asked, e.g. {@code register}, {@code admin.evict}
   * @param target what it was about, e.g. {@code orders/orders-1}
   * @param outcome how it ended
   * @param detail the reason of a refusal or failure (the status description), empty when it went
   *     through
   */
  public void record(Identity who, String action, String target, Outcome outcome, String detail) {
    if (file.isEmpty() && !log.isInfoEnabled()) {
      // Recorded nowhere: not worth a line of JSON per registration.
      return;
    }
    ObjectNode line =
        JSON.createObjectNode()
            .put("time", clock.instant().toString())
            .put("identity", who.value())
            .put("action", action)
            .put("target", target)
            .put("outcome", outcome.name());
    if (!detail.isEmpty()) {
      line.put("detail", detail);
    }
    String text;
    try {
      text = JSON.writeValueAsString(line);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    log.info(text);
    if (file.isPresent()) {
      synchronized (this) {
        try {
          file.get().write(text);
          file.get().write('\n');
          file.get().flush();
        } catch (IOException e) {
          log.error("Cannot append to the audit log: {}", e.toString());
        }
      }
    }
  }

  @Override
  public synchronized void close() {
    if (file.isPresent()) {
      try {
        file.get().close();
      } catch (IOException e) {
        log.warn("Cannot close the audit log: {}", e.toString());
      }
    }
  }
}
