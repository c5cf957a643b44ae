package io.signalbox.xds;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
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
    if (message instanceof RouteConfiguration routes) {
      return hex(digestOf(routes));
    }
    return hex(sha256().digest(serialized(message)));
  }

  /**
   * Digests, remembered while their message lives, of the routes and virtual hosts of route
   * configurations. Translation by difference keeps unchanged ones as the same objects.
   */
  private static final Cache<Message, byte[]> ROUTE_DIGESTS =
      CacheBuilder.newBuilder().weakKeys().build();

  /**
   * A route configuration, the one resource that holds every route (600 KB at 10,000), is digested
   * as a tree: its own fields, then each virtual host's digest (its own fields, then each route's
   * digest). A route change so digests its own routes and the others' remembered digests, not the
   * whole configuration again. Still a function of the content alone, the same on every replica.
   */
  private static byte[] digestOf(RouteConfiguration routes) {
    MessageDigest digest = sha256();
    digest.update(sha256().digest(serialized(routes.toBuilder().clearVirtualHosts().build())));
    for (VirtualHost virtualHost : routes.getVirtualHostsList()) {
      digest.update(remembered(virtualHost, () -> digestOf(virtualHost)));
    }
    return digest.digest();
  }

  private static byte[] digestOf(VirtualHost virtualHost) {
    MessageDigest digest = sha256();
    digest.update(sha256().digest(serialized(virtualHost.toBuilder().clearRoutes().build())));
    for (Route route : virtualHost.getRoutesList()) {
      digest.update(remembered(route, () -> sha256().digest(serialized(route))));
    }
    return digest.digest();
  }

  private static byte[] remembered(Message message, java.util.function.Supplier<byte[]> digest) {
    byte[] known = ROUTE_DIGESTS.getIfPresent(message);
    if (known == null) {
      known = digest.get();
      ROUTE_DIGESTS.put(message, known);
    }
    return known;
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
