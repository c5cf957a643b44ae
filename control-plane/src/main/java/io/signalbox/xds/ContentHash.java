package io.signalbox.xds;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Message;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;

/**
 * Versions derived from content. The same resource gets the same version in every JVM and on every
 * replica, so an unchanged resource is never pushed again and an Envoy that reconnects to another
 * replica sees no churn.
 */
final class ContentHash {

  /**
   * 64 bits of SHA-256: collisions among one type's few thousand resources are not a practical
   * concern.
   */
  private static final int HEX_CHARS = 16;

  private ContentHash() {}

  static String of(Message message) {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream(message.getSerializedSize());
      CodedOutputStream output = CodedOutputStream.newInstance(bytes);
      // Map fields (metadata, typed_per_filter_config) would otherwise serialize in hash order.
      output.useDeterministicSerialization();
      message.writeTo(output);
      output.flush();
      return hex(sha256().digest(bytes.toByteArray()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A version for a set of named versions; the map must iterate in a stable order. */
  static String ofVersions(Map<String, String> versionsByName) {
    MessageDigest digest = sha256();
    // The same bytes per named version as ContentVersionedResources digests into a bucket.
    versionsByName.forEach((name, version) -> digest.update(nameAndVersion(name, version)));
    return hex(digest.digest());
  }

  /** What one named version adds to a type's version, as {@link #ofVersions} digests it. */
  static byte[] nameAndVersion(String name, String version) {
    byte[] n = name.getBytes(StandardCharsets.UTF_8);
    byte[] v = version.getBytes(StandardCharsets.UTF_8);
    byte[] bytes = new byte[n.length + v.length + 2];
    System.arraycopy(n, 0, bytes, 0, n.length);
    System.arraycopy(v, 0, bytes, n.length + 1, v.length);
    return bytes;
  }

  static String hex(byte[] digest) {
    return HexFormat.of().formatHex(digest).substring(0, HEX_CHARS);
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
