package io.signalbox.testing;

import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RouteSpec;
import java.util.List;

/** Registrations for store tests, where only the service, the instance and a route matter. */
public final class TestRegistrations {

  private TestRegistrations() {}

  /** {@code instanceId} of {@code service} at 10.0.0.1:8080, with one route: {@code prefix}. */
  public static Registration withPrefix(String service, String instanceId, String prefix) {
    return new Registration(
        service,
        Instance.of(instanceId, "10.0.0.1", 8080),
        List.of(RouteSpec.builder(PathMatch.prefix(prefix)).build()));
  }
}
