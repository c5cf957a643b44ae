package io.signalbox.model;

import java.util.Objects;
import java.util.Optional;

/**
 * What a route does with a request it matched: forward it to the service's instances (the default),
 * or answer it from Envoy with a redirect or a fixed response.
 */
public sealed interface RouteAction
    permits RouteAction.Forward, RouteAction.Redirect, RouteAction.DirectResponse {

  /**
   * Plain forwarding: no WebSocket upgrades, mirroring, rewriting, faults, compression or limit.
   */
  Forward FORWARD = Forward.builder().build();

  /**
   * Forwarded to the service's instances.
   *
   * @param websocket whether WebSocket upgrades are accepted and forwarded
   * @param mirror another service that receives a copy of the requests
   * @param regexRewrite the path rewritten by a regular expression before forwarding
   * @param fault delays and errors injected for testing
   * @param compress whether Envoy gzips responses for clients that accept it
   * @param maxRequestBytes requests with a larger body are refused with 413; 0 for no limit
   * @param idleTimeout how long a stream may send nothing before it is ended; empty for the
   *     listener's
   */
  record Forward(
      boolean websocket,
      Optional<Mirror> mirror,
      Optional<RegexRewrite> regexRewrite,
      Optional<Fault> fault,
      boolean compress,
      int maxRequestBytes,
      Optional<java.time.Duration> idleTimeout)
      implements RouteAction {
    public Forward {
      idleTimeout = idleTimeout == null ? Optional.empty() : idleTimeout;
      mirror = mirror == null ? Optional.empty() : mirror;
      regexRewrite = regexRewrite == null ? Optional.empty() : regexRewrite;
      fault = fault == null ? Optional.empty() : fault;
      if (maxRequestBytes < 0) {
        throw new IllegalArgumentException("maxRequestBytes must not be negative");
      }
    }

    public static Builder builder() {
      return new Builder();
    }

    /** Forwarding with the given parts; each left out is off. */
    public static final class Builder {
      private boolean websocket;
      private Optional<Mirror> mirror = Optional.empty();
      private Optional<RegexRewrite> regexRewrite = Optional.empty();
      private Optional<Fault> fault = Optional.empty();
      private boolean compress;
      private int maxRequestBytes;
      private Optional<java.time.Duration> idleTimeout = Optional.empty();

      public Builder websocket(boolean accepted) {
        this.websocket = accepted;
        return this;
      }

      public Builder mirror(Optional<Mirror> copiesTo) {
        this.mirror = copiesTo;
        return this;
      }

      public Builder regexRewrite(Optional<RegexRewrite> rewrite) {
        this.regexRewrite = rewrite;
        return this;
      }

      public Builder fault(Optional<Fault> injected) {
        this.fault = injected;
        return this;
      }

      public Builder compress(boolean gzip) {
        this.compress = gzip;
        return this;
      }

      public Builder maxRequestBytes(int limit) {
        this.maxRequestBytes = limit;
        return this;
      }

      public Builder idleTimeout(Optional<java.time.Duration> timeout) {
        this.idleTimeout = timeout;
        return this;
      }

      public Forward build() {
        return new Forward(
            websocket, mirror, regexRewrite, fault, compress, maxRequestBytes, idleTimeout);
      }
    }
  }

  /** Every match of {@code pattern} (RE2) in the path replaced by {@code substitution}. */
  record RegexRewrite(String pattern, String substitution) {
    public RegexRewrite {
      Objects.requireNonNull(pattern, "pattern");
      Objects.requireNonNull(substitution, "substitution");
    }
  }

  /**
   * Faults injected for testing: a share of requests delayed, a share answered with a status.
   *
   * @param delayPercent share of requests delayed, 1-100 (ignored without a delay)
   * @param abortStatus the status of aborted requests; 0 for none
   * @param abortPercent share of requests aborted, 1-100 (ignored without an abort status)
   */
  record Fault(
      Optional<java.time.Duration> delay, int delayPercent, int abortStatus, int abortPercent) {
    public Fault {
      Objects.requireNonNull(delay, "delay");
      if (delay.isEmpty() && abortStatus == 0) {
        throw new IllegalArgumentException("a fault delays or aborts");
      }
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
