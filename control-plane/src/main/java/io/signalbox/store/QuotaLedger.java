package io.signalbox.store;

import com.google.common.collect.HashMultiset;
import com.google.common.collect.Multiset;
import io.signalbox.model.Registration;
import io.signalbox.model.RegistryQuotas;
import io.signalbox.model.RouteSpec;
import io.signalbox.model.ServiceState;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What the registry holds against its {@link RegistryQuotas}, counted as instances and services
 * change so that checking a registration costs what the registration costs, never the registry.
 * Used under the store's lock.
 */
final class QuotaLedger {

  /** Each identity's live instances, counted by service. */
  private final Map<String, Multiset<String>> servicesByRegistrant = new HashMap<>();

  /** How many services name each virtual host in their routes. */
  private final Multiset<String> hostUse = HashMultiset.create();

  /** The registrations' approximate bytes together. */
  private long registryBytes;

  /** Routes without hosts, and host placements of the others, in the served routes. */
  private long anyHostRoutes;

  private long hostPlacements;

  void instanceAdded(LiveLease lease) {
    Registration registration = lease.registration;
    registryBytes += lease.approximateBytes;
    servicesByRegistrant
        .computeIfAbsent(registration.registrant(), r -> HashMultiset.create())
        .add(registration.service());
  }

  void instanceRemoved(LiveLease lease) {
    Registration registration = lease.registration;
    registryBytes -= lease.approximateBytes;
    Multiset<String> services = servicesByRegistrant.get(registration.registrant());
    services.remove(registration.service());
    if (services.isEmpty()) {
      servicesByRegistrant.remove(registration.registrant());
    }
  }

  /** How many identities hold live instances. */
  int identities() {
    return servicesByRegistrant.size();
  }

  void serviceChanged(ServiceState before, ServiceState after) {
    hostsOf(before).forEach(hostUse::remove);
    hostsOf(after).forEach(hostUse::add);
    anyHostRoutes += anyHostRoutes(after) - anyHostRoutes(before);
    hostPlacements += hostPlacements(after) - hostPlacements(before);
  }

  /**
   * @param registrationBytes the registration's {@link Registration#approximateBytes()}
   * @param previous the instance's lease this one replaces, or null for a new instance
   * @param current the service's served state, or null for a new service
   * @param serviceCount services in the registry
   * @param instancesOfService live instances of the registration's service
   * @throws QuotaExceededException naming the first quota the registration would pass
   */
  void check(
      RegistryQuotas quota,
      Registration registration,
      long registrationBytes,
      LiveLease previous,
      ServiceState current,
      int serviceCount,
      int instancesOfService) {
    String service = registration.service();
    if (instancesOfService == 0 && serviceCount >= quota.maxServices()) {
      throw new QuotaExceededException(
          "limits.maxServices",
          "the registry holds "
              + serviceCount
              + " services, the most it may; service '"
              + service
              + "' cannot be added");
    }
    if (previous == null && instancesOfService >= quota.maxInstancesPerService()) {
      throw new QuotaExceededException(
          "limits.maxInstancesPerService",
          "service '" + service + "' has " + instancesOfService + " instances, the most it may");
    }
    String identity = registration.registrant();
    Multiset<String> mine = servicesByRegistrant.get(identity);
    // Per identity only with mutual TLS: without it every caller is the same nobody, and the
    // fleet-wide quotas hold.
    if (!identity.isEmpty() && previous == null && mine != null) {
      if (mine.size() >= quota.maxInstancesPerIdentity()) {
        throw new QuotaExceededException(
            "limits.maxInstancesPerIdentity",
            "identity '"
                + identity
                + "' has "
                + "registered "
                + mine.size()
                + " instances, the most it may");
      }
      if (!mine.contains(service) && mine.elementSet().size() >= quota.maxServicesPerIdentity()) {
        throw new QuotaExceededException(
            "limits.maxServicesPerIdentity",
            "identity '"
                + identity
                + "' has "
                + "registered instances of "
                + mine.elementSet().size()
                + " services, the most it may");
      }
    }
    long after =
        registryBytes - (previous == null ? 0 : previous.approximateBytes) + registrationBytes;
    if (after > quota.maxRegistryBytes()) {
      throw new QuotaExceededException(
          "limits.maxRegistryBytes",
          "the registry holds about "
              + registryBytes
              + " bytes of registrations and this one ("
              + registrationBytes
              + " bytes) would pass the most, "
              + quota.maxRegistryBytes());
    }
    long newHosts =
        registration.routes().stream()
            .flatMap(route -> route.hosts().stream())
            .filter(host -> !hostUse.contains(host))
            .distinct()
            .count();
    // A route without hosts is placed in the any-host virtual host and in every host's: the route
    // configuration grows with their product, which a registration must not push past the quota.
    long anyHost = anyHostRoutes - anyHostRoutes(current) + anyHostRoutes(registration.routes());
    long virtualHosts = hostUse.elementSet().size() + newHosts + 1;
    long placed =
        hostPlacements
            - hostPlacements(current)
            + hostPlacements(registration.routes())
            + anyHost * virtualHosts;
    if (placed > quota.maxPlacedRoutes()) {
      throw new QuotaExceededException(
          "limits.maxPlacedRoutes",
          "the route configuration would hold about "
              + placed
              + " routes ("
              + anyHost
              + " without hosts, placed in each of "
              + virtualHosts
              + " virtual hosts); the most is "
              + quota.maxPlacedRoutes());
    }
    if (newHosts > 0 && hostUse.elementSet().size() + newHosts > quota.maxHosts()) {
      throw new QuotaExceededException(
          "limits.maxHosts",
          "routes name "
              + hostUse.elementSet().size()
              + " virtual hosts and this registration would add "
              + newHosts
              + "; the most is "
              + quota.maxHosts());
    }
  }

  private static long anyHostRoutes(ServiceState service) {
    return service == null ? 0 : anyHostRoutes(service.routes());
  }

  private static long anyHostRoutes(List<RouteSpec> routes) {
    return routes.stream().filter(route -> route.hosts().isEmpty()).count();
  }

  private static long hostPlacements(ServiceState service) {
    return service == null ? 0 : hostPlacements(service.routes());
  }

  private static long hostPlacements(List<RouteSpec> routes) {
    return routes.stream().mapToLong(route -> route.hosts().size()).sum();
  }

  /** The virtual hosts a service's routes name, each once. */
  private static Set<String> hostsOf(ServiceState service) {
    if (service == null) {
      return Set.of();
    }
    return service.routes().stream()
        .flatMap(route -> route.hosts().stream())
        .collect(Collectors.toSet());
  }
}
