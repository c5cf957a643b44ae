package io.signalbox.samples.spring;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * An ordinary Spring Boot web application. Nothing here knows about Signalbox: the starter on the
 * classpath and {@code application.yaml} register it, report its health and deregister it.
 */
@SpringBootApplication
public class GreetingsApplication {

  public static void main(String[] args) {
    SpringApplication.run(GreetingsApplication.class, args);
  }
}
