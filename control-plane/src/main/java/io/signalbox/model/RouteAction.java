package io.signalbox.model;

import java.util.Objects;
import java.util.Optional;

/**
 * What a route does with a request it matched: forward it to the service's instances (the default),
 * or answer it from Envoy with a redirect or a fixed response.
 */
public sealed interface RouteAction
    permits RouteAction.Forward, RouteAction.Redirect, RouteAction.DirectResponse {

  /** Forwarding without WebSocket upgrades or mirroring. */
  Forward FORWARD = new Forward(false, Optional.empty());

  /**
   * Forwarded to the service's instances.
   *
   * @param websocket whether WebSocket upgrades are accepted and forwarded
   * @param mirror another service that receives a copy of the requests
   */
  record Forward(boolean websocket, Optional<Mirror> mirror) implements RouteAction {
    public Forward {
      mirror = mirror == null ? Optional.empty() : mirror;
    }
  }

  /**
   * Copies of requests sent to another service; its answers are dropped.
   *
   * @param percent share of requests copied, 1-100
   */
  record Mirror(String service, int percent) {
    public Mirror {
      Objects.requireNonNull(service, "service");
      if (percent < 1 || percent > 100) {
        throw new IllegalArgumentException("percent must be 1-100");
      }
    }
  }

  /**
   * Answered with a redirect; each empty part keeps the request's.
   *
   * @param scheme "http" or "https"
   * @param port 0 keeps the request's
   * @param path the whole new path
   * @param code 301, 302, 303, 307 or 308
   */
  record Redirect(
      Optional<String> scheme,
      Optional<String> host,
      int port,
      Optional<String> path,
      int code,
      boolean stripQuery)
      implements RouteAction {
    public Redirect {
      scheme = scheme == null ? Optional.empty() : scheme;
      host = host == null ? Optional.empty() : host;
      path = path == null ? Optional.empty() : path;
    }
  }

  /** Answered by Envoy with this status and body. */
  record DirectResponse(int status, String body) implements RouteAction {
    public DirectResponse {
      Objects.requireNonNull(body, "body");
    }
  }
}
