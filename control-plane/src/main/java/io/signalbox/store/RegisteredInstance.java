package io.signalbox.store;

import io.signalbox.model.Instance;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * One live registration as the store holds it, for operators.
 *
 * @param leaseId identifies the registration inside the control plane; a bearer credential of the
 *     instance, so it is never shown to operators
 * @param leaseRemaining time until the lease expires unless renewed
 * @param registeredAt when this lease was first granted
 * @param drained out of the gateway's endpoints while the lease lives
 */
public record RegisteredInstance(
    String service,
    Instance instance,
    String leaseId,
    Duration ttl,
    Duration leaseRemaining,
    Instant registeredAt,
    boolean drained,
    boolean notServing) {

  public RegisteredInstance {
    Objects.requireNonNull(service, "service");
    Objects.requireNonNull(instance, "instance");
    Objects.requireNonNull(leaseId, "leaseId");
    Objects.requireNonNull(ttl, "ttl");
    Objects.requireNonNull(leaseRemaining, "leaseRemaining");
    Objects.requireNonNull(registeredAt, "registeredAt");
  }
}
