package io.signalbox.model;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A route a service asked for: where requests come from (hosts + match) and how they are forwarded.
 *
 * @param hosts virtual hosts, sorted; empty means every host
 * @param timeout upstream timeout; empty means Envoy's default
 */
public record RouteSpec(List<String> hosts, RouteMatch match, Optional<String> prefixRewrite,
                        Optional<Duration> timeout) {

  public RouteSpec {
    hosts = hosts == null ? List.of() : hosts.stream().sorted().distinct().toList();
    Objects.requireNonNull(match, "match");
    prefixRewrite = prefixRewrite == null ? Optional.empty() : prefixRewrite;
    timeout = timeout == null ? Optional.empty() : timeout;
  }

  public static Builder builder(PathMatch path) {
    return new Builder(path);
  }

  /** Builds a route; only the path is required. */
  public static final class Builder {
    private final PathMatch path;
    private final List<String> hosts = new ArrayList<>();
    private final List<HeaderMatch> headers = new ArrayList<>();
    private final List<String> methods = new ArrayList<>();
    private String prefixRewrite;
    private Duration timeout;

    private Builder(PathMatch path) {
      this.path = path;
    }

    public Builder host(String host) {
      hosts.add(host);
      return this;
    }

    public Builder header(HeaderMatch header) {
      headers.add(header);
      return this;
    }

    public Builder method(String method) {
      methods.add(method);
      return this;
    }

    public Builder prefixRewrite(String rewrite) {
      this.prefixRewrite = rewrite;
      return this;
    }

    public Builder timeout(Duration timeout) {
      this.timeout = timeout;
      return this;
    }

    public RouteSpec build() {
      return new RouteSpec(hosts, new RouteMatch(path, headers, methods), Optional.ofNullable(prefixRewrite),
          Optional.ofNullable(timeout));
    }
  }
}
