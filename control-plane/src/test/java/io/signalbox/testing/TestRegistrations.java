package io.signalbox.testing;

import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RouteSpec;
import io.signalbox.registry.v1.RegisterRequest;
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

  /**
   * A registry API request: {@code instanceId} of {@code service} at 127.0.0.1:{@code port}, with
   * one route, the prefix {@code /service}.
   */
  public static RegisterRequest request(String service, String instanceId, int port) {
    return RegisterRequest.newBuilder()
        .setService(service)
        .setInstance(
            io.signalbox.registry.v1.Instance.newBuilder()
                .setId(instanceId)
                .setHost("127.0.0.1")
                .setPort(port))
        .addRoutes(
            io.signalbox.registry.v1.Route.newBuilder()
                .setPath(io.signalbox.registry.v1.PathMatch.newBuilder().setPrefix("/" + service)))
        .build();
  }
}
