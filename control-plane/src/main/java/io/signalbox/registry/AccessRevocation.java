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

  /** How long after a failed revocation (the store could not be written) it is tried again. */
  public static final java.time.Duration RETRY_AFTER = java.time.Duration.ofSeconds(5);

  private final RegistryAdmin registry;
  private final AccessControl access;
  private final AuditLog audit;
  private final SignalboxMetrics metrics;
  private final java.util.concurrent.ScheduledExecutorService retries;
  private final java.time.Duration retryAfter;
  private final java.util.concurrent.atomic.AtomicBoolean retryPending =
      new java.util.concurrent.atomic.AtomicBoolean();

  /**
   * @param retries where a revocation the store could not write is tried again, every {@code
   *     retryAfter} ({@link #RETRY_AFTER} in the control plane) until it succeeds
   */
  public AccessRevocation(
      RegistryAdmin registry,
      AccessControl access,
      AuditLog audit,
      SignalboxMetrics metrics,
      java.util.concurrent.ScheduledExecutorService retries,
      java.time.Duration retryAfter) {
    this.registry = registry;
    this.access = access;
    this.audit = audit;
    this.metrics = metrics;
    this.retries = retries;
    this.retryAfter = retryAfter;
  }

  /**
   * Deregisters every instance whose registration the policy in force refuses; each is logged,
   * audited and counted.
   *
   * @param cause what changed the policy, recorded as the change's cause
   * @return the instances deregistered; none when the store cannot be written, which is logged and
   *     tried again later (judged then by the policy in force then)
   */
  public List<RevokedRegistration> revokeRefused(String cause) {
    List<RevokedRegistration> revoked;
    try {
      revoked = registry.revoke(registration -> refusal(access, registration), cause);
    } catch (StoreUnavailableException e) {
      log.error(
          "Registrations the access policy no longer admits were not deregistered ({}), trying"
              + " again in {} s: {}",
          cause,
          retryAfter.toMillis() / 1000.0,
          e.getMessage());
      if (retryPending.compareAndSet(false, true)) {
        try {
          retries.schedule(
              () -> {
                retryPending.set(false);
                try {
                  revokeRefused(cause);
                } catch (RuntimeException unexpected) {
                  // A scheduled task's exception is kept in its future, which nobody reads.
                  log.error(
                      "Revoking the registrations the access policy refuses failed ({})",
                      cause,
                      unexpected);
                }
              },
              retryAfter.toMillis(),
              java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException stopping) {
          // The control plane is stopping: the registrations are judged again at the next start.
          retryPending.set(false);
        }
      }
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

  /**
   * Why the registration's registrant may not hold it under the policy in force, as {@link
   * RegistryService} asks of a new one. A lease made without TLS has no registrant to judge (the
   * first authenticated caller allowed to register its service adopts it), so only its routes are:
   * the service's grant applies whoever registered.
   */
  static Optional<String> refusal(AccessControl access, Registration registration) {
    if (registration.registrant().isEmpty()) {
      return RouteGrants.refusal(registration, access.grant(registration.service()));
    }
    Identity who = new Identity(registration.registrant());
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
