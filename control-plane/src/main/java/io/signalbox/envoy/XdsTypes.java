package io.signalbox.envoy;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The short names operators use for resource types ("clusters", "routes", ...), as in the admin API
 * and {@code signalboxctl}, and their type URLs.
 */
public final class XdsTypes {

  /** Sorted by short name. */
  public static final List<ResourceType> ALL =
      List.of(
          ResourceType.CLUSTER,
          ResourceType.ENDPOINT,
          ResourceType.LISTENER,
          ResourceType.ROUTE,
          ResourceType.SECRET);

  private XdsTypes() {}

  public static String shortName(ResourceType type) {
    return switch (type) {
      case CLUSTER -> "clusters";
      case ENDPOINT -> "endpoints";
      case LISTENER -> "listeners";
      case ROUTE -> "routes";
      case SECRET -> "secrets";
    };
  }

  public static String typeUrl(ResourceType type) {
    return switch (type) {
      case CLUSTER -> Resources.V3.CLUSTER_TYPE_URL;
      case ENDPOINT -> Resources.V3.ENDPOINT_TYPE_URL;
      case LISTENER -> Resources.V3.LISTENER_TYPE_URL;
      case ROUTE -> Resources.V3.ROUTE_TYPE_URL;
      case SECRET -> Resources.V3.SECRET_TYPE_URL;
    };
  }

  /** The type of a v3 type URL, as java-control-plane maps it. */
  public static Optional<ResourceType> resourceType(String typeUrl) {
    return Optional.ofNullable(Resources.TYPE_URLS_TO_RESOURCE_TYPE.get(typeUrl));
  }

  /** The short name of a v3 type URL; the URL itself for a type Signalbox does not serve. */
  public static String shortName(String typeUrl) {
    return resourceType(typeUrl).map(XdsTypes::shortName).orElse(typeUrl);
  }

  /** A short name (singular or plural, any case) or a v3 type URL. */
  public static Optional<ResourceType> parse(String text) {
    Optional<ResourceType> byUrl = resourceType(text);
    if (byUrl.isPresent()) {
      return byUrl;
    }
    String name = text.toLowerCase(Locale.ROOT);
    return ALL.stream()
        .filter(t -> shortName(t).equals(name) || shortName(t).equals(name + "s"))
        .findFirst();
  }
}
