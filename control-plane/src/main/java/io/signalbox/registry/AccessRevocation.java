package io.signalbox.registry;

import io.signalbox.metrics.SignalboxMetrics;
import io.signalbox.model.Registration;
import io.signalbox.security.AccessControl;
import io.signalbox.security.AuditLog;
import io.signalbox.security.Identity;
import io.signalbox.store.RegistryAdmin;
import io.signalbox.store.RevokedRegistration;
import io.signalbox.store.StoreUnavailableException;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the registry inside the access policy in force. A registration is authorized when it is
 * made, but the operator may narrow the policy afterwards: take a service from an identity, a host
 * or path from a service's grant, or the right to register the service a route mirrors to. A lease
 * lasts only as long as its registration would be admitted, so on every change of the policy (and
 * at start, for leases kept from before) each live registration is judged again as {@link
 * RegistryService} judges a new one, and the refused ones are deregistered. Their clients register
 * again and get PERMISSION_DENIED naming the field.
 */
public final class AccessRevocation {

  private static final Logger log = LoggerFactory.getLogger(AccessRevocation.class);

  private final RegistryAdmin registry;
  private final AccessControl access;
  private final AuditLog audit;
  private final SignalboxMetrics metrics;

  public AccessRevocation(
      RegistryAdmin registry, AccessControl access, AuditLog audit, SignalboxMetrics metrics) {
    this.registry = registry;
    this.access = access;
    this.audit = audit;
    this.metrics = metrics;
  }

  /**
   * Deregisters every instance whose registration the policy in force refuses; each is logged,
   * audited and counted.
   *
   * @param cause what changed the policy, recorded as the change's cause
   * @return the instances deregistered; none when the store cannot be written, which is logged and
   *     tried again at the next change
   */
  public List<RevokedRegistration> revokeRefused(String cause) {
    List<RevokedRegistration> revoked;
    try {
      revoked = registry.revoke(this::refusal, cause);
    } catch (StoreUnavailableException e) {
      log.error(
          "Registrations the access policy no longer admits were not deregistered ({}): {}",
          cause,
          e.getMessage());
      return List.of();
    }
    for (RevokedRegistration instance : revoked) {
      log.atWarn()
          .addKeyValue("service", instance.service())
          .addKeyValue("instance", instance.instanceId())
          .log(
              "Deregistered {}/{}: the access policy in force refuses its registration: {}",
              instance.service(),
              instance.instanceId(),
              instance.reason());
      audit.record(
          registrant(instance.registrant()),
          "revoke",
          instance.service() + "/" + instance.instanceId(),
          AuditLog.Outcome.DENIED,
          instance.reason());
    }
    metrics.leasesRevoked(revoked.size());
    return revoked;
  }

  /** Why the registration's registrant may not hold it now, as {@link RegistryService} asks. */
  private Optional<String> refusal(Registration registration) {
    Identity who = registrant(registration.registrant());
    Optional<String> refused = access.registrationRefusal(who, registration.service());
    if (refused.isPresent()) {
      return refused;
    }
    return RouteGrants.refusal(registration, who, access);
  }

  /** A lease made without TLS records no registrant: its caller was the plaintext peer. */
  private static Identity registrant(String registrant) {
    return registrant.isEmpty() ? Identity.PLAINTEXT : new Identity(registrant);
  }
}
