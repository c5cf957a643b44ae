package io.signalbox.store;

import java.util.Objects;

/**
 * An instance deregistered because the access policy in force no longer admits its registration.
 * Its lease id is a credential and is not carried.
 *
 * @param registrant the identity that registered it (empty for a lease made without TLS)
 * @param reason why its registration would be refused now, naming the field
 */
public record RevokedRegistration(
    String service, String instanceId, String registrant, String reason) {

  public RevokedRegistration {
    Objects.requireNonNull(service, "service");
    Objects.requireNonNull(instanceId, "instanceId");
    Objects.requireNonNull(registrant, "registrant");
    Objects.requireNonNull(reason, "reason");
  }
}
