package io.signalbox.spring;

import io.grpc.Status;
import io.signalbox.client.Registration;
import io.signalbox.client.RegistrationException;
import io.signalbox.client.RegistrationListener;
import io.signalbox.client.RegistryClient;
import io.signalbox.client.RouteSpec;
import io.signalbox.client.ServiceRegistration;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.boot.web.context.WebServerInitializedEvent;
import org.springframework.context.ApplicationContext;
import org.springframework.context.ApplicationEvent;
import org.springframework.context.ApplicationListener;
import org.springframework.context.SmartLifecycle;

/**
 * Registers the application once it is ready, keeps its serving status in step with its health, and
 * deregisters it when the application context closes, before the web server stops.
 *
 * <p>Ready, not earlier: {@link ApplicationReadyEvent} comes after the web server is up and the
 * runners have run, so Envoy sends no request the application cannot serve yet.
 *
 * <p>Stopping: the web server's graceful shutdown is the lifecycle phase {@code DEFAULT_PHASE -
 * 1024} and its stop {@code DEFAULT_PHASE - 2048}; lifecycles stop from the highest phase down, so
 * in {@link SmartLifecycle#DEFAULT_PHASE} this deregisters first, then keeps serving for {@code
 * signalbox.drain-delay} while every Envoy takes the instance out, and only then lets the web
 * server stop taking requests. Requests never meet a closed port.
 */
final class SignalboxRegistrar implements SmartLifecycle, ApplicationListener<ApplicationEvent> {

  private static final Logger log = LoggerFactory.getLogger(SignalboxRegistrar.class);

  private static final Duration FIRST_RETRY = Duration.ofSeconds(1);
  private static final Duration MAX_RETRY = Duration.ofSeconds(30);

  private final SignalboxProperties properties;
  private final String service;
  private final RegistryClient client;
  private final ApplicationContext context;
  private final ObjectProvider<InstanceHealth> health;
  private final ObjectProvider<HandlerPaths> handlerPaths;

  private final Object lock = new Object();
  private boolean running;
  private boolean stopped;
  private Registration registration;
  private ScheduledExecutorService executor;
  private volatile int webServerPort;

  /** The serving status last reported; a new lease starts SERVING. Read on the executor only. */
  private boolean reportedServing = true;

  SignalboxRegistrar(
      SignalboxProperties properties,
      String service,
      RegistryClient client,
      ApplicationContext context,
      ObjectProvider<InstanceHealth> health,
      ObjectProvider<HandlerPaths> handlerPaths) {
    this.properties = properties;
    this.service = service;
    this.client = client;
    this.context = context;
    this.health = health;
    this.handlerPaths = handlerPaths;
  }

  @Override
  public void onApplicationEvent(ApplicationEvent event) {
    // A management server on its own port is a child context whose events reach this one too.
    if (event instanceof WebServerInitializedEvent initialized
        && initialized.getApplicationContext() == context) {
      webServerPort = initialized.getWebServer().getPort();
    } else if (event instanceof ApplicationReadyEvent ready
        && ready.getApplicationContext() == context) {
      onReady();
    }
  }

  private void onReady() {
    ServiceRegistration request = registrationRequest();
    synchronized (lock) {
      if (stopped) {
        return;
      }
      executor =
          Executors.newSingleThreadScheduledExecutor(
              task -> {
                Thread thread = new Thread(task, "signalbox-registrar");
                thread.setDaemon(true);
                return thread;
              });
    }
    if (properties.failFast()) {
      try {
        registered(client.register(request, new LoggingListener(request)));
      } catch (RegistrationException e) {
        throw new IllegalStateException(
            "Signalbox: could not register "
                + describe(request)
                + " with "
                + properties.target()
                + " (signalbox.fail-fast=true): "
                + e.getMessage(),
            e);
      }
    } else {
      executor.execute(() -> registerInBackground(request, FIRST_RETRY));
    }
  }

  private ServiceRegistration registrationRequest() {
    int port = properties.advertisedPort() != null ? properties.advertisedPort() : webServerPort;
    if (port == 0) {
      throw new IllegalStateException(
          "Signalbox: no port to register: the application runs no web server;"
              + " set signalbox.advertised-port");
    }
    String host =
        AdvertisedHost.resolve(
            properties.advertisedHost(), context.getEnvironment().getProperty("server.address"));
    return Registrations.of(properties, service, host, port, routes());
  }

  private List<RouteSpec> routes() {
    if (!properties.routes().isEmpty()) {
      return properties.routes().stream().map(SignalboxProperties.Route::toSpec).toList();
    }
    if (!properties.deriveRoutesFromHandlers()) {
      return List.of();
    }
    HandlerPaths paths = handlerPaths.getIfAvailable();
    if (paths == null) {
      log.warn(
          "Signalbox: signalbox.derive-routes-from-handlers needs Spring MVC; no routes derived");
      return List.of();
    }
    return HandlerRoutes.derive(paths.patterns()).stream()
        .map(HandlerRoutes.PathRoute::toSpec)
        .toList();
  }

  private void registerInBackground(ServiceRegistration request, Duration retryIn) {
    try {
      registered(client.register(request, new LoggingListener(request)));
    } catch (RegistrationException e) {
      synchronized (lock) {
        if (stopped) {
          return;
        }
        if (!mayClear(e)) {
          // Refused for good (the registration is invalid): asking again changes nothing.
          log.error(
              "Signalbox: {} was refused by {}: {}; not registered (fix the configuration and"
                  + " restart)",
              describe(request),
              properties.target(),
              e.getMessage());
          return;
        }
        log.error(
            "Signalbox: could not register {} with {}: {}; retrying in {} s"
                + " (signalbox.fail-fast=true fails startup instead)",
            describe(request),
            properties.target(),
            e.getMessage(),
            retryIn.toSeconds());
        Duration doubled = retryIn.multipliedBy(2);
        Duration next = doubled.compareTo(MAX_RETRY) < 0 ? doubled : MAX_RETRY;
        executor.schedule(
            () -> registerInBackground(request, next), retryIn.toMillis(), TimeUnit.MILLISECONDS);
      }
    }
  }

  /**
   * Whether asking again may succeed: everything but a registration the control plane finds
   * invalid, which only a new configuration (and a restart) changes. An unreachable control plane,
   * a route still held by a leaving instance, a quota, or an access policy the operator has yet to
   * reload may all clear.
   */
  private static boolean mayClear(RegistrationException e) {
    return switch (e.status().getCode()) {
      case INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE, UNIMPLEMENTED -> false;
      default -> true;
    };
  }

  private void registered(Registration handle) {
    synchronized (lock) {
      if (!stopped) {
        registration = handle;
        log.info(
            "Signalbox: registered {} with {}: {}",
            describe(handle.registration()),
            properties.target(),
            Registrations.describe(handle.registration().routes()));
        if (handle.registration().routes().isEmpty()) {
          log.warn(
              "Signalbox: {} registered no routes, so the gateway sends it no requests; set"
                  + " signalbox.routes or signalbox.derive-routes-from-handlers=true",
              service);
        }
        InstanceHealth instanceHealth = health.getIfAvailable();
        if (instanceHealth != null && properties.health().enabled()) {
          executor.scheduleWithFixedDelay(
              () -> reportHealth(instanceHealth),
              0,
              properties.health().interval().toMillis(),
              TimeUnit.MILLISECONDS);
        }
        return;
      }
    }
    // Registered while the application was stopping: do not leave it behind.
    handle.close();
  }

  private void reportHealth(InstanceHealth instanceHealth) {
    Registration current;
    synchronized (lock) {
      current = registration;
    }
    if (current == null) {
      return;
    }
    boolean serving;
    try {
      serving = instanceHealth.isServing();
    } catch (RuntimeException e) {
      log.warn("Signalbox: reading the application's health failed: {}", e.toString());
      serving = false;
    }
    if (serving == reportedServing) {
      return;
    }
    try {
      current.setServing(serving);
      reportedServing = serving;
      log.info(
          "Signalbox: health is {}: {} reported {}",
          serving ? "UP" : "not UP",
          service,
          serving ? "SERVING" : "NOT_SERVING");
    } catch (RegistrationException e) {
      // Tried again at the next reading.
      log.warn("Signalbox: {}", e.getMessage());
    }
  }

  @Override
  public void start() {
    synchronized (lock) {
      running = true;
    }
  }

  @Override
  public void stop() {
    Registration closing;
    ScheduledExecutorService background;
    synchronized (lock) {
      running = false;
      stopped = true;
      closing = registration;
      registration = null;
      background = executor;
    }
    if (background != null) {
      // Interrupts a registration still trying; one that succeeds anyway is closed by registered().
      background.shutdownNow();
    }
    if (closing == null) {
      return;
    }
    closing.close();
    log.info(
        "Signalbox: deregistered {}; serving {} ms more before the web server stops",
        describe(closing.registration()),
        properties.drainDelay().toMillis());
    try {
      Thread.sleep(properties.drainDelay().toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public boolean isRunning() {
    synchronized (lock) {
      return running;
    }
  }

  @Override
  public int getPhase() {
    return SmartLifecycle.DEFAULT_PHASE;
  }

  /** Whether the instance is registered now; for tests. */
  boolean isRegistered() {
    synchronized (lock) {
      return registration != null;
    }
  }

  private static String describe(ServiceRegistration request) {
    return request + " at " + request.host() + ":" + request.port();
  }

  /** What the SDK does in the background, in the application's log; never a lease id. */
  private static final class LoggingListener implements RegistrationListener {

    private final ServiceRegistration request;

    LoggingListener(ServiceRegistration request) {
      this.request = request;
    }

    @Override
    public void onReregistered(String previousLeaseId, String newLeaseId) {
      log.info("Signalbox: {} had lost its lease and registered again", request);
    }

    @Override
    public void onReregistrationFailed(Status status) {
      log.warn(
          "Signalbox: {} could not register again ({}: {}); retrying",
          request,
          status.getCode(),
          status.getDescription());
    }
  }
}
