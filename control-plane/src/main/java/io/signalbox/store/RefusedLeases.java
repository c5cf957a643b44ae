package io.signalbox.store;

import io.signalbox.model.Registration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Live registrations judged by the access policy in force, for {@link RegistryAdmin#revoke}: both
 * back ends judge the same way and report the same.
 */
final class RefusedLeases {

  private static final Comparator<RevokedRegistration> ORDER =
      Comparator.comparing(RevokedRegistration::service)
          .thenComparing(RevokedRegistration::instanceId);

  private RefusedLeases() {}

  /** A live registration the access policy in force would refuse, and why. */
  record Refused(Registration registration, String reason) {
    RevokedRegistration revoked() {
      return new RevokedRegistration(
          registration.service(), registration.instance().id(), registration.registrant(), reason);
    }
  }

  /** The registrations {@code refusal} refuses, by lease id. */
  static SortedMap<String, Refused> judge(
      Map<String, Registration> byLease, Function<Registration, Optional<String>> refusal) {
    SortedMap<String, Refused> refused = new TreeMap<>();
    byLease.forEach(
        (leaseId, registration) ->
            refusal
                .apply(registration)
                .ifPresent(reason -> refused.put(leaseId, new Refused(registration, reason))));
    return refused;
  }

  /** The refused registrations that were deregistered, as reported: by service and instance. */
  static List<RevokedRegistration> revoked(Stream<Refused> removed) {
    return removed.map(Refused::revoked).sorted(ORDER).toList();
  }
}
