package io.signalbox.model;

/**
 * How much of the registry one caller, and everybody together, may take: a registration that would
 * go beyond is refused (RESOURCE_EXHAUSTED naming the limit) and nothing registered before is
 * touched.
 *
 * @param maxServices services in the registry
 * @param maxInstancesPerService instances of one service
 * @param maxServicesPerIdentity services with an instance registered by one identity (mutual TLS)
 * @param maxInstancesPerIdentity instances registered by one identity
 * @param maxHosts distinct virtual hosts named by routes: each becomes a virtual host holding every
 *     any-host route
 * @param maxRegistryBytes the registrations' size together ({@link
 *     Registration#approximateBytes()})
 * @param maxPlacedRoutes routes in the route configuration Envoy gets: a route without hosts is
 *     placed in every virtual host, so this bounds the product of any-host routes and hosts
 */
public record RegistryQuotas(
    int maxServices,
    int maxInstancesPerService,
    int maxServicesPerIdentity,
    int maxInstancesPerIdentity,
    int maxHosts,
    long maxRegistryBytes,
    int maxPlacedRoutes) {

  public static final long DEFAULT_MAX_REGISTRY_BYTES = 256L << 20;
  public static final int DEFAULT_MAX_PLACED_ROUTES = 200_000;

  public static final RegistryQuotas DEFAULT =
      new RegistryQuotas(
          10_000, 1_000, 100, 1_000, 1_000, DEFAULT_MAX_REGISTRY_BYTES, DEFAULT_MAX_PLACED_ROUTES);

  public RegistryQuotas {
    if (maxServices < 1
        || maxInstancesPerService < 1
        || maxServicesPerIdentity < 1
        || maxInstancesPerIdentity < 1
        || maxHosts < 1
        || maxRegistryBytes < 1
        || maxPlacedRoutes < 1) {
      throw new IllegalArgumentException("every quota must be at least 1: " + this);
    }
  }
}
