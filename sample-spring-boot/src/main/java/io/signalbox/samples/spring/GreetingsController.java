package io.signalbox.samples.spring;

import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;

@RestController
class GreetingsController {

  @GetMapping("/greetings")
  String greeting() {
    return "Hello from Spring Boot";
  }

  @GetMapping("/greetings/{name}")
  String greeting(@PathVariable String name) {
    return "Hello, " + name;
  }
}
