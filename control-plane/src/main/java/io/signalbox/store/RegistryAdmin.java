package io.signalbox.store;

import io.signalbox.model.Registration;
import java.util.List;
import java.util.Optional;
import java.util.SortedMap;
import java.util.function.Function;

/**
 * What an operator may see and do to the registry beyond what services do themselves. Every action
 * is one atomic step: it either changes everything it names or, when something named is unknown,
 * nothing.
 */
public interface RegistryAdmin {

  /** Every live registration, drained ones included, sorted by service and instance id. */
  List<RegisteredInstance> registeredInstances();

  /**
   * Takes an instance out of the registry state the gateway is built from (or puts it back),
   * keeping its lease. The mark lasts as long as the lease: a re-registration of the same instance
   * keeps it, a new lease does not.
   *
   * @param by the identity of the operator, recorded as the change's cause
   * @throws NotRegisteredException when the service or instance has no live registration
   */
  RegisteredInstance setDrained(String service, String instanceId, boolean drained, String by);

  /**
   * Deregisters one instance of a service, or all of them.
   *
   * @param by the identity of the operator, recorded as the change's cause
   * @return the instance ids removed, sorted
   * @throws NotRegisteredException when the service or instance has no live registration
   */
  List<String> evict(String service, Optional<String> instanceId, String by);

  /**
   * Deregisters the instance only if it still holds the given lease and is still drained: the end
   * of a drain's grace period must not remove an instance that was undrained or that registered
   * anew meanwhile.
   */
  boolean evictIfStillDrained(String service, String instanceId, String leaseId);

  /**
   * Deregisters every instance whose registration {@code refusal} refuses: a lease lasts only as
   * long as its registration would be admitted, so when the operator narrows who may register what,
   * the leases made before go too. Each registration is judged as it stands; one registered again
   * while judging keeps its new registration. The instance's client then registers again and is
   * refused with the reason, naming the field.
   *
   * @param refusal why a registration would be refused now, naming the field; empty when admitted
   * @param by what made the change, recorded as its cause ("revoked by ...")
   * @return the instances deregistered, sorted by service and instance id
   */
  List<RevokedRegistration> revoke(Function<Registration, Optional<String>> refusal, String by);

  /** Services withheld from Envoy because Envoy rejected them, by name. */
  SortedMap<String, Quarantine> quarantined();

  /**
   * Serves a quarantined service again (Envoy may reject it again, and it is then quarantined
   * again).
   *
   * @return the quarantine lifted; empty when the service was not quarantined, which changes
   *     nothing
   * @throws NotRegisteredException when the service has no live registration
   */
  Optional<Quarantine> releaseQuarantine(String service);
}
