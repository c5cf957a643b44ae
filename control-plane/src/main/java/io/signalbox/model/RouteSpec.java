package io.signalbox.model;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A route a service asked for: where requests come from (hosts + match), how they are forwarded,
 * and the policies the registration attached to it.
 *
 * @param hosts virtual hosts, sorted; empty means every host
 * @param timeout upstream timeout; empty means Envoy's default
 * @param auth the JWT requirement the registration set (the route's own or its service's); empty
 *     means the operator's default applies, unless {@code publicRoute}
 * @param publicRoute served without authentication, whatever the defaults say
 * @param rateLimit the limit the registration set (the route's own or its service's); empty means
 *     the operator's default applies
 * @param retry how failed requests are retried (the route's own policy or its service's); empty
 *     means not at all
 * @param requestHeaders header changes on the request before it is forwarded
 * @param responseHeaders header changes on the response before it is returned
 * @param cors cross-origin policy (the route's own or its service's); empty means none
 * @param action forward (the default), redirect or answer directly; the prefix rewrite, timeout and
 *     retries apply to forwarding only
 */
public record RouteSpec(
    List<String> hosts,
    RouteMatch match,
    Optional<String> prefixRewrite,
    Optional<Duration> timeout,
    Optional<AuthRequirement> auth,
    boolean publicRoute,
    Optional<RateLimit> rateLimit,
    Optional<RetryPolicy> retry,
    HeaderRewrite requestHeaders,
    HeaderRewrite responseHeaders,
    Optional<CorsPolicy> cors,
    RouteAction action) {

  public RouteSpec {
    hosts = hosts == null ? List.of() : hosts.stream().sorted().distinct().toList();
    Objects.requireNonNull(match, "match");
    prefixRewrite = prefixRewrite == null ? Optional.empty() : prefixRewrite;
    timeout = timeout == null ? Optional.empty() : timeout;
    auth = auth == null ? Optional.empty() : auth;
    rateLimit = rateLimit == null ? Optional.empty() : rateLimit;
    retry = retry == null ? Optional.empty() : retry;
    requestHeaders = requestHeaders == null ? HeaderRewrite.NONE : requestHeaders;
    responseHeaders = responseHeaders == null ? HeaderRewrite.NONE : responseHeaders;
    cors = cors == null ? Optional.empty() : cors;
    action = action == null ? RouteAction.FORWARD : action;
    if (publicRoute && auth.isPresent()) {
      throw new IllegalArgumentException("a public route has no auth requirement");
    }
  }

  /** The same route with another match (e.g. one more header condition). */
  public RouteSpec withMatch(RouteMatch newMatch) {
    return new RouteSpec(
        hosts,
        newMatch,
        prefixRewrite,
        timeout,
        auth,
        publicRoute,
        rateLimit,
        retry,
        requestHeaders,
        responseHeaders,
        cors,
        action);
  }

  /** A route without policies. */
  public RouteSpec(
      List<String> hosts,
      RouteMatch match,
      Optional<String> prefixRewrite,
      Optional<Duration> timeout) {
    this(
        hosts,
        match,
        prefixRewrite,
        timeout,
        Optional.empty(),
        false,
        Optional.empty(),
        Optional.empty(),
        HeaderRewrite.NONE,
        HeaderRewrite.NONE,
        Optional.empty(),
        RouteAction.FORWARD);
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
    private AuthRequirement auth;
    private boolean publicRoute;
    private RateLimit rateLimit;
    private RetryPolicy retry;
    private HeaderRewrite requestHeaders = HeaderRewrite.NONE;
    private HeaderRewrite responseHeaders = HeaderRewrite.NONE;
    private CorsPolicy cors;
    private RouteAction action = RouteAction.FORWARD;

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

    public Builder auth(AuthRequirement requirement) {
      this.auth = requirement;
      return this;
    }

    public Builder publicRoute(boolean isPublic) {
      this.publicRoute = isPublic;
      return this;
    }

    public Builder rateLimit(RateLimit limit) {
      this.rateLimit = limit;
      return this;
    }

    public Builder retry(RetryPolicy policy) {
      this.retry = policy;
      return this;
    }

    public Builder requestHeaders(HeaderRewrite rewrite) {
      this.requestHeaders = rewrite;
      return this;
    }

    public Builder responseHeaders(HeaderRewrite rewrite) {
      this.responseHeaders = rewrite;
      return this;
    }

    public Builder cors(CorsPolicy policy) {
      this.cors = policy;
      return this;
    }

    public Builder action(RouteAction routeAction) {
      this.action = routeAction;
      return this;
    }

    public RouteSpec build() {
      return new RouteSpec(
          hosts,
          new RouteMatch(path, headers, methods),
          Optional.ofNullable(prefixRewrite),
          Optional.ofNullable(timeout),
          Optional.ofNullable(auth),
          publicRoute,
          Optional.ofNullable(rateLimit),
          Optional.ofNullable(retry),
          requestHeaders,
          responseHeaders,
          Optional.ofNullable(cors),
          action);
    }
  }
}
