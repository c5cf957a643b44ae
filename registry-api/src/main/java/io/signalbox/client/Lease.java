package io.signalbox.client;

import io.signalbox.registry.v1.RegisterResponse;
import java.time.Duration;

/**
 * A lease granted by the control plane: its id and how long it lives without a keep-alive. The id
 * is a credential (whoever holds it may renew or deregister the instance), so logs show {@link
 * #fingerprint()} only.
 */
record Lease(String id, Duration ttl) {

  @Override
  public String toString() {
    return "Lease[" + fingerprint() + ", ttl=" + ttl + "]";
  }

  /**
   * A short, one-way name for the id that tells two leases apart in logs: {@code sha256:1f2e3d4c}.
   */
  String fingerprint() {
    try {
      byte[] digest =
          java.security.MessageDigest.getInstance("SHA-256")
              .digest(id.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      return "sha256:" + java.util.HexFormat.of().formatHex(digest, 0, 4);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  /** The control plane's documented default, assumed when a response leaves the TTL unset. */
  static final Duration DEFAULT_TTL = Duration.ofSeconds(10);

  static Lease from(RegisterResponse response) {
    Duration ttl = ProtoDurations.fromProto(response.getTtl());
    return new Lease(response.getLeaseId(), ttl.isZero() || ttl.isNegative() ? DEFAULT_TTL : ttl);
  }

  /** Keep-alives go out three times per TTL, so a single lost message never costs the lease. */
  Duration keepAliveInterval() {
    return ttl.dividedBy(3);
  }
}
