package io.signalbox.spring;

import io.signalbox.client.RegistryClient;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.health.HealthEndpoint;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.ApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerMapping;

/**
 * Registers a Spring Boot application with Signalbox from its {@code signalbox.*} properties: see
 * docs/spring-boot.md. On unless {@code signalbox.enabled=false}.
 */
@AutoConfiguration(
    afterName =
        "org.springframework.boot.actuate.autoconfigure.health.HealthEndpointAutoConfiguration")
@ConditionalOnProperty(
    prefix = "signalbox",
    name = "enabled",
    havingValue = "true",
    matchIfMissing = true)
@EnableConfigurationProperties(SignalboxProperties.class)
public class SignalboxAutoConfiguration {

  private static final Logger log = LoggerFactory.getLogger(SignalboxAutoConfiguration.class);

  /**
   * Without a JVM shutdown hook of its own: Spring's hook closes the context, which deregisters in
   * order (before the web server stops); a second hook would deregister at a moment of its own.
   * Files named by {@code signalbox.tls.*} are read here, so a missing one fails startup naming it.
   */
  @Bean(destroyMethod = "close")
  @ConditionalOnMissingBean
  RegistryClient signalboxRegistryClient(SignalboxProperties properties) {
    RegistryClient.Builder client =
        RegistryClient.builder()
            .target(properties.target())
            .registrationTimeout(properties.registrationTimeout())
            .shutdownHook(false);
    if (properties.plaintext()) {
      log.warn(
          "Signalbox: connecting to the control plane at {} in PLAINTEXT (signalbox.plaintext=true):"
              + " nothing is authenticated; only for a development control plane run with"
              + " --insecure-plaintext",
          properties.target());
    } else {
      SignalboxProperties.Tls tls = properties.tls();
      client.mutualTls(Path.of(tls.certificate()), Path.of(tls.privateKey()), Path.of(tls.ca()));
      log.info(
          "Signalbox: connecting to the control plane at {} over mutual TLS with certificate {}",
          properties.target(),
          tls.certificate());
    }
    return client.build();
  }

  @Bean
  SignalboxRegistrar signalboxRegistrar(
      SignalboxProperties properties,
      RegistryClient signalboxRegistryClient,
      ApplicationContext context,
      ObjectProvider<InstanceHealth> health,
      ObjectProvider<HandlerPaths> handlerPaths) {
    return new SignalboxRegistrar(
        properties,
        serviceName(properties, context),
        signalboxRegistryClient,
        context,
        health,
        handlerPaths);
  }

  private static String serviceName(SignalboxProperties properties, ApplicationContext context) {
    if (properties.service() != null && !properties.service().isBlank()) {
      return properties.service();
    }
    String applicationName = context.getEnvironment().getProperty("spring.application.name");
    if (applicationName == null || applicationName.isBlank()) {
      throw new IllegalStateException(
          "Signalbox: no service name: set signalbox.service or spring.application.name");
    }
    return applicationName;
  }

  /** Actuator's overall health becomes the instance's serving status. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(HealthEndpoint.class)
  @ConditionalOnBean(HealthEndpoint.class)
  static class ActuatorHealthConfiguration {

    @Bean
    InstanceHealth signalboxInstanceHealth(HealthEndpoint endpoint) {
      return new ActuatorInstanceHealth(endpoint);
    }
  }

  /** The Spring MVC handlers, for {@code signalbox.derive-routes-from-handlers}. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(RequestMappingHandlerMapping.class)
  @ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
  static class MvcHandlerConfiguration {

    @Bean
    HandlerPaths signalboxHandlerPaths(ApplicationContext context) {
      return new MvcHandlerPaths(context);
    }
  }
}
