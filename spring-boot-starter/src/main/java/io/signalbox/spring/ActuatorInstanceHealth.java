package io.signalbox.spring;

import org.springframework.boot.actuate.health.HealthEndpoint;
import org.springframework.boot.actuate.health.Status;

/**
 * The application's overall Actuator health: UP serves; DOWN, OUT_OF_SERVICE, UNKNOWN and custom
 * statuses do not, as a load balancer's health check would read them.
 */
final class ActuatorInstanceHealth implements InstanceHealth {

  private final HealthEndpoint endpoint;

  ActuatorInstanceHealth(HealthEndpoint endpoint) {
    this.endpoint = endpoint;
  }

  @Override
  public boolean isServing() {
    return Status.UP.equals(endpoint.health().getStatus());
  }
}
