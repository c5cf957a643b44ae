package io.signalbox.store;

import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;

/** A granted lease: the instance stays registered while it is renewed within {@code ttl}. */
public record Lease(String id, Duration ttl) {

  private static final SecureRandom RANDOM = new SecureRandom();

  /** A new lease id: random, so that no two replicas or restarts hand out the same one. */
  static String newId() {
    byte[] bytes = new byte[12];
    RANDOM.nextBytes(bytes);
    return "lease-" + HexFormat.of().formatHex(bytes);
  }
}
