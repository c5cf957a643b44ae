package io.signalbox.security;

import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Answers "may this caller do that?" for every port, from the access policy in force (read anew for
 * each question, so a settings reload applies to the next call). On a control plane that runs
 * without TLS nobody is authenticated, so identities decide nothing there: every caller may do
 * everything, as the operator chose with {@code --insecure-plaintext}. Service grants (which hosts
 * and paths a service may claim) concern services, not callers, and apply either way.
 */
public final class AccessControl {

  private final boolean enforced;
  private final Supplier<AccessPolicy> policy;

  private AccessControl(boolean enforced, Supplier<AccessPolicy> policy) {
    this.enforced = enforced;
    this.policy = Objects.requireNonNull(policy);
  }

  /** Identities decide when the transport authenticates them. */
  public static AccessControl forTransport(
      TransportSecurity transport, Supplier<AccessPolicy> policy) {
    return new AccessControl(transport.isTls(), policy);
  }

  /** Callers are authenticated by certificate and checked against {@code policy}. */
  public static AccessControl enforcing(Supplier<AccessPolicy> policy) {
    return new AccessControl(true, policy);
  }

  /** Nobody is authenticated; every caller may do everything. */
  public static AccessControl plaintext(Supplier<AccessPolicy> policy) {
    return new AccessControl(false, policy);
  }

  public boolean enforced() {
    return enforced;
  }

  public AccessPolicy policy() {
    return policy.get();
  }

  /** Why {@code who} may not register {@code service}; empty when it may. */
  public Optional<String> registrationRefusal(Identity who, String service) {
    if (!enforced || policy.get().mayRegister(who, service)) {
      return Optional.empty();
    }
    return Optional.of("identity '" + who + "' may not register service '" + service + "'");
  }

  /** Whether {@code who} may fetch the configuration of node group {@code group}. */
  public boolean mayFetch(Identity who, String group) {
    return !enforced || policy.get().mayFetch(who, group);
  }

  /**
   * Whether {@code who} may ask the built-in rate-limit service: Envoys only, since a caller can
   * spend the counters or push other routes over their limits.
   */
  public boolean mayAskRateLimits(Identity who) {
    return !enforced || policy.get().isEnvoy(who);
  }

  /** Whether {@code who} has at least {@code role} on the admin API. */
  public boolean hasRole(Identity who, AdminRole role) {
    return !enforced || policy.get().role(who).map(held -> held.includes(role)).orElse(false);
  }

  public Optional<AccessPolicy.ServiceGrant> grant(String service) {
    return policy.get().grant(service);
  }
}
