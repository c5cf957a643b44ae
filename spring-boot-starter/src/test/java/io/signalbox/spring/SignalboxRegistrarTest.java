package io.signalbox.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.signalbox.client.RegistryClient;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.Route;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.actuate.autoconfigure.health.HealthContributorAutoConfiguration;
import org.springframework.boot.actuate.autoconfigure.health.HealthEndpointAutoConfiguration;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.web.servlet.DispatcherServletAutoConfiguration;
import org.springframework.boot.autoconfigure.web.servlet.WebMvcAutoConfiguration;
import org.springframework.boot.autoconfigure.web.servlet.error.ErrorMvcAutoConfiguration;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.boot.test.context.assertj.ApplicationContextAssertProvider;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;

/**
 * What the starter tells a control plane (an in-process fake) over an application's life: nothing
 * before it is ready, its registration once it is, its health as it changes, and its deregistration
 * when it stops.
 */
class SignalboxRegistrarTest {

  private final FakeRegistry registry = new FakeRegistry();

  private final ApplicationContextRunner runner =
      new ApplicationContextRunner()
          .withConfiguration(AutoConfigurations.of(SignalboxAutoConfiguration.class))
          .withBean(
              RegistryClient.class,
              () ->
                  RegistryClient.builder().channel(registry.channel()).shutdownHook(false).build())
          .withPropertyValues(
              "signalbox.target=in-process",
              "signalbox.plaintext=true",
              "signalbox.service=orders",
              "signalbox.advertised-host=10.0.0.7",
              "signalbox.advertised-port=8080",
              "signalbox.drain-delay=0s",
              "signalbox.routes[0].prefix=/orders");

  @AfterEach
  void closeRegistry() {
    registry.close();
  }

  @Test
  void registersOnceTheApplicationIsReadyAndDeregistersWhenItStops() {
    runner.run(
        context -> {
          assertThat(registry.calls()).as("before the application is ready").isEmpty();

          ready(context);
          awaitRegistered(context);
          RegisterRequest request = registry.registrations().get(0);
          assertThat(request.getService()).isEqualTo("orders");
          assertThat(request.getInstance().getId()).isEqualTo("orders-10.0.0.7-8080");
          assertThat(request.getInstance().getHost()).isEqualTo("10.0.0.7");
          assertThat(request.getInstance().getPort()).isEqualTo(8080);
          assertThat(request.getRoutesList())
              .containsExactly(
                  Route.newBuilder().setPath(PathMatch.newBuilder().setPrefix("/orders")).build());

          context.close();
          assertThat(registry.calls())
              .containsExactly("register orders/orders-10.0.0.7-8080", "deregister");
        });
  }

  @Test
  void actuatorHealthBecomesTheInstancesServingStatus() {
    AtomicReference<Health> health = new AtomicReference<>(Health.up().build());
    runner
        .withConfiguration(
            AutoConfigurations.of(
                HealthContributorAutoConfiguration.class, HealthEndpointAutoConfiguration.class))
        .withBean("database", HealthIndicator.class, () -> health::get)
        .withPropertyValues("signalbox.health.interval=50ms")
        .run(
            context -> {
              ready(context);
              awaitRegistered(context);

              health.set(Health.down().withDetail("reason", "test").build());
              await()
                  .atMost(Duration.ofSeconds(5))
                  .until(() -> registry.calls().contains("serving NOT_SERVING"));
              health.set(Health.up().build());
              await()
                  .atMost(Duration.ofSeconds(5))
                  .until(() -> registry.calls().contains("serving SERVING"));

              assertThat(registry.calls())
                  .as("UP at registration is not reported again: a new lease starts SERVING")
                  .containsExactly(
                      "register orders/orders-10.0.0.7-8080",
                      "serving NOT_SERVING",
                      "serving SERVING");
            });
  }

  @Test
  void failFastFailsStartupWithTheControlPlanesReason() {
    registry.refuseRegistrations(1, Status.PERMISSION_DENIED);
    runner
        .withPropertyValues("signalbox.fail-fast=true")
        .run(
            context ->
                assertThatThrownBy(() -> ready(context))
                    .hasMessageContaining("could not register orders/orders-10.0.0.7-8080")
                    .hasMessageContaining("PERMISSION_DENIED")
                    .hasMessageContaining("refused by the test"));
  }

  @Test
  void withoutFailFastAFailedRegistrationIsRetriedInTheBackground() {
    registry.refuseRegistrations(1, Status.PERMISSION_DENIED);
    runner.run(
        context -> {
          ready(context);
          awaitRegistered(context);
          assertThat(registry.calls())
              .containsExactly(
                  "register orders/orders-10.0.0.7-8080", "register orders/orders-10.0.0.7-8080");
        });
  }

  @Test
  void aRegistrationTheControlPlaneFindsInvalidIsNotAskedAgain() throws Exception {
    registry.refuseRegistrations(1, Status.INVALID_ARGUMENT);
    runner.run(
        context -> {
          ready(context);
          Thread.sleep(1_500); // past the first retry, which a transient refusal would get
          assertThat(registry.calls()).containsExactly("register orders/orders-10.0.0.7-8080");
        });
  }

  @RestController
  static class Handlers {

    @GetMapping("/hello")
    String hello() {
      return "hello";
    }

    @GetMapping({"/orders", "/orders/{id}"})
    String order(@PathVariable(required = false) String id) {
      return "order " + id;
    }
  }

  @Test
  void derivedRoutesAreTheHandlersPathsBelowTheContextPathWithoutTheErrorController() {
    new WebApplicationContextRunner()
        .withConfiguration(
            AutoConfigurations.of(
                DispatcherServletAutoConfiguration.class,
                WebMvcAutoConfiguration.class,
                ErrorMvcAutoConfiguration.class,
                SignalboxAutoConfiguration.class))
        .withUserConfiguration(Handlers.class)
        .withBean(
            RegistryClient.class,
            () -> RegistryClient.builder().channel(registry.channel()).shutdownHook(false).build())
        .withPropertyValues(
            "signalbox.target=in-process",
            "signalbox.plaintext=true",
            "signalbox.service=orders",
            "signalbox.advertised-host=10.0.0.7",
            "signalbox.advertised-port=8080",
            "signalbox.drain-delay=0s",
            "signalbox.derive-routes-from-handlers=true",
            "server.servlet.context-path=/api")
        .run(
            context -> {
              assertThat(context).hasBean("basicErrorController");
              ready(context);
              awaitRegistered(context);
              assertThat(registry.registrations().get(0).getRoutesList())
                  .extracting(Route::getPath)
                  .containsExactly(
                      PathMatch.newBuilder().setExact("/api/hello").build(),
                      PathMatch.newBuilder().setPrefix("/api/orders").build());
            });
  }

  /** Until the registrar holds the registration, not just until the control plane saw it. */
  private static void awaitRegistered(ApplicationContextAssertProvider<?> context) {
    SignalboxRegistrar registrar = context.getBean(SignalboxRegistrar.class);
    await().atMost(Duration.ofSeconds(5)).until(registrar::isRegistered);
  }

  private static void ready(ApplicationContextAssertProvider<?> context) {
    ConfigurableApplicationContext application =
        (ConfigurableApplicationContext) context.getSourceApplicationContext();
    application.publishEvent(
        new ApplicationReadyEvent(
            new SpringApplication(), new String[0], application, Duration.ZERO));
  }
}
