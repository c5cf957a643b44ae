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

  /**
   * Instance {@code id} at {@code address}:{@code port}. With an application port, it is behind a
   * sidecar: {@code port} is the sidecar's inbound listener and the application listens on {@code
   * applicationPort}; 0 for none.
   */
  public static Instance instance(String id, String address, int port, int applicationPort) {
    return new Instance(
        id,
        address,
        address,
        port,
        "",
        Instance.DEFAULT_WEIGHT,
        java.util.Map.of(),
        applicationPort);
  }

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
