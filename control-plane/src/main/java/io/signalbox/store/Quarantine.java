package io.signalbox.store;

import io.signalbox.model.ServiceState;
import java.time.Instant;
import java.util.Objects;

/**
 * A service withheld from Envoy because Envoy rejected the configuration it translates to. The
 * store keeps the service (instances, leases, route ownership); only the state the gateway is built
 * from leaves it out.
 *
 * @param rejected the service's state as it was translated when Envoy rejected it: a registration
 *     that brings a different state gets another chance
 * @param reason which Envoy rejected which resource type, and Envoy's error
 * @param since when the service was quarantined
 */
public record Quarantine(String service, ServiceState rejected, String reason, Instant since) {

  public Quarantine {
    Objects.requireNonNull(service, "service");
    Objects.requireNonNull(rejected, "rejected");
    Objects.requireNonNull(reason, "reason");
    Objects.requireNonNull(since, "since");
  }
}
