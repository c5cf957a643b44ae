package io.signalbox.store;

/** An operator named a service or instance that has no live registration. The message names it. */
public final class NotRegisteredException extends RuntimeException {

  private NotRegisteredException(String message) {
    super(message);
  }

  static NotRegisteredException service(String service) {
    return new NotRegisteredException("service '" + service + "' is not registered");
  }

  static NotRegisteredException instance(String service, String instanceId) {
    return new NotRegisteredException(
        "instance '" + instanceId + "' of service '" + service + "' is not registered");
  }
}
