package io.signalbox.spring;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;
import org.springframework.boot.web.servlet.error.ErrorController;
import org.springframework.context.ApplicationContext;
import org.springframework.web.method.HandlerMethod;
import org.springframework.web.servlet.mvc.method.RequestMappingInfo;
import org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerMapping;

/**
 * The paths of the application's {@code @RequestMapping} handlers in Spring MVC, below the servlet
 * context path and the dispatcher servlet's path. The error controller is left out: {@code /error}
 * is where the application forwards its own failures, not a route for clients.
 */
final class MvcHandlerPaths implements HandlerPaths {

  /**
   * The application's own mapping; Actuator adds other RequestMappingHandlerMapping beans for its
   * endpoints, which are not routes for the gateway.
   */
  static final String MAPPING_BEAN = "requestMappingHandlerMapping";

  private final ApplicationContext context;

  MvcHandlerPaths(ApplicationContext context) {
    this.context = context;
  }

  @Override
  public List<String> patterns() {
    if (!context.containsBean(MAPPING_BEAN)) {
      return List.of();
    }
    String base =
        join(
            context.getEnvironment().getProperty("server.servlet.context-path", ""),
            context.getEnvironment().getProperty("spring.mvc.servlet.path", ""));
    Map<RequestMappingInfo, HandlerMethod> handlers =
        context.getBean(MAPPING_BEAN, RequestMappingHandlerMapping.class).getHandlerMethods();
    return handlers.entrySet().stream()
        .filter(
            handler -> !ErrorController.class.isAssignableFrom(handler.getValue().getBeanType()))
        .flatMap(handler -> handler.getKey().getPatternValues().stream())
        .map(pattern -> join(base, pattern))
        .distinct()
        .sorted()
        .toList();
  }

  /** "/api" + "/orders", "" + "orders", "/" + "/": one slash between, none at the end. */
  private static String join(String... parts) {
    String joined =
        Stream.of(parts)
            .filter(Objects::nonNull)
            .flatMap(part -> Stream.of(part.split("/")))
            .filter(segment -> !segment.isEmpty())
            .reduce("", (path, segment) -> path + "/" + segment);
    return joined.isEmpty() ? "/" : joined;
  }
}
