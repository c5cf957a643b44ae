package io.signalbox.xds;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.IdentityHashMap;
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
    return of(message, null).version();
  }

  /**
   * A version, and for a route configuration the digests of its virtual hosts and routes, by
   * identity, which the next version of the same configuration takes for the parts it kept.
   */
  record Digest(String version, Map<Message, byte[]> parts) {}

  /**
   * {@code message}'s version, taking the digests of parts that are the very objects {@code
   * earlier} (the parts of an earlier version of the same resource; null for none) digested.
   */
  static Digest of(Message message, Map<Message, byte[]> earlier) {
    if (message instanceof RouteConfiguration routes) {
      Map<Message, byte[]> parts = new IdentityHashMap<>();
      byte[] digest = digestOf(routes, earlier == null ? Map.of() : earlier, parts);
      return new Digest(hex(digest), parts);
    }
    return new Digest(hex(sha256().digest(serialized(message))), null);
  }

  /**
   * A route configuration, the one resource that holds every route (600 KB at 10,000), is digested
   * as a tree: its own fields, then each virtual host's digest (its own fields, then each route's
   * digest). A route change so digests its own routes and takes the others' digests from the
   * version before, instead of digesting the whole configuration again. Still a function of the
   * content alone, the same on every replica.
   */
  private static byte[] digestOf(
      RouteConfiguration routes, Map<Message, byte[]> earlier, Map<Message, byte[]> parts) {
    MessageDigest digest = sha256();
    digest.update(sha256().digest(serialized(routes.toBuilder().clearVirtualHosts().build())));
    for (VirtualHost virtualHost : routes.getVirtualHostsList()) {
      byte[] known = earlier.get(virtualHost);
      if (known != null) {
        // A kept virtual host holds kept routes: their digests come along.
        for (Route route : virtualHost.getRoutesList()) {
          parts.put(route, earlier.get(route));
        }
      } else {
        known = digestOf(virtualHost, earlier, parts);
      }
      parts.put(virtualHost, known);
      digest.update(known);
    }
    return digest.digest();
  }

  private static byte[] digestOf(
      VirtualHost virtualHost, Map<Message, byte[]> earlier, Map<Message, byte[]> parts) {
    MessageDigest digest = sha256();
    digest.update(sha256().digest(serialized(virtualHost.toBuilder().clearRoutes().build())));
    for (Route route : virtualHost.getRoutesList()) {
      byte[] known = earlier.get(route);
      if (known == null) {
        known = sha256().digest(serialized(route));
      }
      parts.put(route, known);
      digest.update(known);
    }
    return digest.digest();
  }

  private static byte[] serialized(Message message) {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream(message.getSerializedSize());
      CodedOutputStream output = CodedOutputStream.newInstance(bytes);
      // Map fields (metadata, typed_per_filter_config) would otherwise serialize in hash order.
      output.useDeterministicSerialization();
      message.writeTo(output);
      output.flush();
      return bytes.toByteArray();
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
