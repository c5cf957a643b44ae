package io.signalbox.ratelimit;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * What a descriptor is counted under: 128 bits of the SHA-256 of its entries, so a count costs the
 * same few bytes whether its values are a route name or a 60 KB header a client chose. Nothing of
 * the values is kept.
 *
 * <p>Two different descriptors share a count only if their digests collide; finding such a pair
 * takes some 2^64 SHA-256 computations, and reaching a given descriptor's count (a second preimage)
 * 2^128.
 */
public record CounterKey(long high, long low) {

  private static final ThreadLocal<MessageDigest> SHA_256 =
      ThreadLocal.withInitial(
          () -> {
            try {
              return MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
              throw new IllegalStateException("every Java platform has SHA-256", e);
            }
          });

  /**
   * The key of {@code descriptor}: every entry's key and value, each preceded by its length, so
   * that no two different lists of entries give the same input whatever their strings hold.
   */
  public static CounterKey of(RateLimitDescriptor descriptor) {
    MessageDigest digest = SHA_256.get();
    digest.reset();
    ByteBuffer length = ByteBuffer.allocate(Integer.BYTES);
    for (RateLimitDescriptor.Entry entry : descriptor.getEntriesList()) {
      update(digest, length, entry.getKey());
      update(digest, length, entry.getValue());
    }
    ByteBuffer hash = ByteBuffer.wrap(digest.digest());
    return new CounterKey(hash.getLong(), hash.getLong());
  }

  private static void update(MessageDigest digest, ByteBuffer length, String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    digest.update(length.clear().putInt(bytes.length).flip());
    digest.update(bytes);
  }
}
