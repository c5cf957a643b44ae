package io.signalbox.spring;

import static io.signalbox.spring.SignalboxPropertiesTest.rootMessage;
import static org.assertj.core.api.Assertions.assertThat;

import io.signalbox.client.RegistryClient;
import org.junit.jupiter.api.Test;
import org.springframework.boot.actuate.autoconfigure.health.HealthContributorAutoConfiguration;
import org.springframework.boot.actuate.autoconfigure.health.HealthEndpointAutoConfiguration;
import org.springframework.boot.actuate.health.HealthEndpoint;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.web.servlet.WebMvcAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;

/** Which beans the starter contributes, under which conditions. */
class SignalboxAutoConfigurationTest {

  private static final String[] PLAINTEXT_CONTROL_PLANE = {
    "signalbox.target=127.0.0.1:18000", "signalbox.plaintext=true"
  };

  private final ApplicationContextRunner runner =
      new ApplicationContextRunner()
          .withConfiguration(AutoConfigurations.of(SignalboxAutoConfiguration.class))
          .withPropertyValues(PLAINTEXT_CONTROL_PLANE);

  @Test
  void theServiceIsNamedAfterTheApplication() {
    runner
        .withPropertyValues("spring.application.name=orders")
        .run(
            context -> {
              assertThat(context).hasSingleBean(SignalboxRegistrar.class);
              assertThat(context).hasSingleBean(RegistryClient.class);
              assertThat(context.getBean(SignalboxRegistrar.class))
                  .extracting("service")
                  .isEqualTo("orders");
            });
    runner
        .withPropertyValues("spring.application.name=orders", "signalbox.service=billing")
        .run(
            context ->
                assertThat(context.getBean(SignalboxRegistrar.class))
                    .extracting("service")
                    .isEqualTo("billing"));
  }

  @Test
  void startupFailsWithoutAServiceName() {
    runner.run(
        context ->
            assertThat(rootMessage(context.getStartupFailure()))
                .isEqualTo(
                    "Signalbox: no service name: set signalbox.service or"
                        + " spring.application.name"));
  }

  @Test
  void startupFailsNamingACertificateFileThatIsNotThere() {
    new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(SignalboxAutoConfiguration.class))
        .withPropertyValues(
            "spring.application.name=orders",
            "signalbox.target=127.0.0.1:18000",
            "signalbox.tls.certificate=/nonexistent/orders.pem",
            "signalbox.tls.private-key=/nonexistent/orders-key.pem",
            "signalbox.tls.ca=/nonexistent/ca.pem")
        .run(
            context ->
                assertThat(context.getStartupFailure())
                    .rootCause()
                    .hasMessageContaining("/nonexistent/"));
  }

  @Test
  void disabledItContributesNothing() {
    runner
        .withPropertyValues("spring.application.name=orders", "signalbox.enabled=false")
        .run(
            context -> {
              assertThat(context).doesNotHaveBean(SignalboxRegistrar.class);
              assertThat(context).doesNotHaveBean(RegistryClient.class);
            });
  }

  @Test
  void actuatorHealthIsReportedOnlyWhereThereIsAHealthEndpoint() {
    ApplicationContextRunner withActuator =
        runner
            .withPropertyValues("spring.application.name=orders")
            .withConfiguration(
                AutoConfigurations.of(
                    HealthContributorAutoConfiguration.class,
                    HealthEndpointAutoConfiguration.class));
    withActuator.run(context -> assertThat(context).hasSingleBean(InstanceHealth.class));
    withActuator
        .withClassLoader(new FilteredClassLoader(HealthEndpoint.class))
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              assertThat(context).doesNotHaveBean(InstanceHealth.class);
            });
    runner
        .withPropertyValues("spring.application.name=orders")
        .run(context -> assertThat(context).doesNotHaveBean(InstanceHealth.class));
  }

  @Test
  void handlerPathsComeFromSpringMvcInAServletApplication() {
    new WebApplicationContextRunner()
        .withConfiguration(
            AutoConfigurations.of(WebMvcAutoConfiguration.class, SignalboxAutoConfiguration.class))
        .withPropertyValues(PLAINTEXT_CONTROL_PLANE)
        .withPropertyValues("spring.application.name=orders")
        .run(context -> assertThat(context).hasSingleBean(HandlerPaths.class));
    runner
        .withPropertyValues("spring.application.name=orders")
        .run(context -> assertThat(context).doesNotHaveBean(HandlerPaths.class));
  }
}
