package io.signalbox.client;

import io.signalbox.registry.v1.Instance;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.RetryPolicy;
import io.signalbox.registry.v1.Route;
import io.signalbox.registry.v1.TrafficPolicy;
import io.signalbox.registry.v1.UpstreamProtocol;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * What one service instance announces: who it is, where it listens and which routes it wants
 * served. Immutable.
 *
 * <p>Only obvious mistakes are caught here; the control plane is the authority on what is valid and
 * answers INVALID_ARGUMENT naming the field.
 */
public final class ServiceRegistration {

  private final String service;
  private final String instanceId;
  private final String host;
  private final int port;
  private final String zone;
  private final int weight;
  private final int applicationPort;
  private final List<String> allowedCallers;
  private final List<String> calls;
  private final Map<String, String> metadata;
  private final List<Route> routes;
  private final @Nullable Duration leaseTtl;
  private final @Nullable AuthSpec auth;
  private final @Nullable RateLimitSpec rateLimit;
  private final @Nullable UpstreamProtocol protocol;
  private final @Nullable RetryPolicy retry;
  private final @Nullable TrafficPolicy traffic;

  private ServiceRegistration(Builder builder) {
    this.traffic = builder.traffic;
    this.protocol = builder.protocol;
    this.retry = builder.retry;
    this.auth = builder.auth;
    this.rateLimit = builder.rateLimit;
    this.service = builder.service;
    this.instanceId = builder.instanceId;
    this.host = builder.host;
    this.port = builder.port;
    this.zone = builder.zone;
    this.weight = builder.weight;
    this.applicationPort = builder.applicationPort;
    this.allowedCallers = List.copyOf(builder.allowedCallers);
    this.calls = List.copyOf(builder.calls);
    this.metadata = Collections.unmodifiableMap(new LinkedHashMap<>(builder.metadata));
    this.routes = List.copyOf(builder.routes);
    this.leaseTtl = builder.leaseTtl;
  }

  /**
   * Starts the registration of an instance of {@code service}: a DNS label (lowercase letters,
   * digits and dashes, starting with a letter). {@link Builder#instance} is required.
   */
  public static Builder builder(String service) {
    return new Builder(service);
  }

  /** The service this instance belongs to: its instances share routes and load. */
  public String service() {
    return service;
  }

  /** The instance's id, unique within its service. */
  public String instanceId() {
    return instanceId;
  }

  /** The address or DNS name Envoy sends the instance's requests to. */
  public String host() {
    return host;
  }

  /** The port Envoy sends the instance's requests to. */
  public int port() {
    return port;
  }

  /** The locality zone, or "" when none was given. */
  public String zone() {
    return zone;
  }

  /** The load-balancing weight; 0 means the control plane's default of 1. */
  public int weight() {
    return weight;
  }

  /** Free-form labels of the instance (at most 32), in the order given; unmodifiable. */
  public Map<String, String> metadata() {
    return metadata;
  }

  /** The routes the service asks the gateway to serve, in the order given; unmodifiable. */
  public List<Route> routes() {
    return routes;
  }

  /** The requested lease TTL; empty means the control plane's default. */
  public Optional<Duration> leaseTtl() {
    return Optional.ofNullable(leaseTtl);
  }

  /** The wire form: the Register call's request. */
  public RegisterRequest toRequest() {
    RegisterRequest.Builder request =
        RegisterRequest.newBuilder()
            .setService(service)
            .setInstance(
                Instance.newBuilder()
                    .setId(instanceId)
                    .setHost(host)
                    .setPort(port)
                    .setZone(zone)
                    .setWeight(weight)
                    .setApplicationPort(applicationPort)
                    .putAllMetadata(metadata))
            .addAllRoutes(routes)
            .addAllAllowedCallers(allowedCallers)
            .addAllCalls(calls);
    if (leaseTtl != null) {
      request.setLeaseTtl(ProtoDurations.toProto(leaseTtl));
    }
    if (auth != null) {
      request.setAuth(auth.toProto());
    }
    if (rateLimit != null) {
      request.setRateLimit(rateLimit.toProto());
    }
    if (protocol != null) {
      request.setUpstreamProtocol(protocol);
    }
    if (retry != null) {
      request.setRetry(retry);
    }
    if (traffic != null) {
      request.setTraffic(traffic);
    }
    return request.build();
  }

  @Override
  public boolean equals(@Nullable Object o) {
    return o instanceof ServiceRegistration other && toRequest().equals(other.toRequest());
  }

  @Override
  public int hashCode() {
    return toRequest().hashCode();
  }

  /** "service/instance-id", the name used in the client's log lines. */
  @Override
  public String toString() {
    return service + "/" + instanceId;
  }

  /** Collects a {@link ServiceRegistration}; not thread-safe. Obtained from {@link #builder}. */
  public static final class Builder {

    private final String service;
    private @Nullable String instanceId;
    private @Nullable String host;
    private int port;
    private String zone = "";
    private int weight;
    private int applicationPort;
    private final List<String> allowedCallers = new ArrayList<>();
    private final List<String> calls = new ArrayList<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final List<Route> routes = new ArrayList<>();
    private @Nullable Duration leaseTtl;
    private @Nullable AuthSpec auth;
    private @Nullable RateLimitSpec rateLimit;
    private @Nullable UpstreamProtocol protocol;
    private @Nullable RetryPolicy retry;
    private @Nullable TrafficPolicy traffic;

    private Builder(String service) {
      this.service = requireNonBlank(service, "service");
    }

    /**
     * Where this instance listens: an address or DNS name Envoy can reach, and a port in 1-65535.
     */
    public Builder instance(String id, String host, int port) {
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("port must be in 1-65535: " + port);
      }
      this.instanceId = requireNonBlank(id, "instance id");
      this.host = requireNonBlank(host, "host");
      this.port = port;
      return this;
    }

    /**
     * Sidecar mode: the application listens on 127.0.0.1:{@code port}, and the instance's host and
     * port are its sidecar Envoy's inbound listener, which forwards there.
     */
    public Builder applicationPort(int port) {
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("application port must be in 1-65535: " + port);
      }
      this.applicationPort = port;
      return this;
    }

    /**
     * Sidecar mode: a service name or SPIFFE ID that may call this service through its sidecars;
     * with none, every workload of the mesh may.
     */
    public Builder allowedCaller(String caller) {
      allowedCallers.add(requireNonBlank(caller, "caller"));
      return this;
    }

    /**
     * Sidecar mode: a service this service calls; once it names any, its sidecars are sent only the
     * services named.
     */
    public Builder calls(String service) {
      calls.add(requireNonBlank(service, "service"));
      return this;
    }

    /** The locality zone of the instance, e.g. "eu-west-1a", for zone-aware load balancing. */
    public Builder zone(String zone) {
      this.zone = Objects.requireNonNull(zone, "zone");
      return this;
    }

    /** Load-balancing weight, 1-128. */
    public Builder weight(int weight) {
      if (weight < 1) {
        throw new IllegalArgumentException("weight must be positive: " + weight);
      }
      this.weight = weight;
      return this;
    }

    /** Adds a label to the instance, replacing one of the same key. */
    public Builder metadata(String key, String value) {
      metadata.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
      return this;
    }

    /** Adds every entry as a label, as {@link #metadata(String, String)} does. */
    public Builder metadata(Map<String, String> entries) {
      entries.forEach(this::metadata);
      return this;
    }

    /** Adds a route, e.g. {@code Routes.prefix("/orders")}. */
    public Builder route(RouteSpec route) {
      return route(route.toProto());
    }

    /** Adds a route in its wire form, for fields {@link RouteSpec} does not cover. */
    public Builder route(Route route) {
      routes.add(Objects.requireNonNull(route, "route"));
      return this;
    }

    /**
     * The TTL to ask for; the control plane clamps it to [1 s, 5 min]. A shorter TTL removes a
     * crashed instance sooner at the price of more keep-alive traffic.
     */
    public Builder leaseTtl(Duration ttl) {
      Objects.requireNonNull(ttl, "ttl");
      if (ttl.isNegative() || ttl.isZero()) {
        throw new IllegalArgumentException("lease TTL must be positive: " + ttl);
      }
      this.leaseTtl = ttl;
      return this;
    }

    /** A JWT requirement for every route that sets none and is not public. */
    public Builder auth(AuthSpec requirement) {
      this.auth = Objects.requireNonNull(requirement, "requirement");
      return this;
    }

    /** How Envoy talks to the instances: HTTP1 (the default), HTTP2 (h2c) or GRPC. */
    public Builder protocol(UpstreamProtocol upstreamProtocol) {
      this.protocol = Objects.requireNonNull(upstreamProtocol, "upstreamProtocol");
      return this;
    }

    /**
     * Retries for every route that sets none, e.g. {@code
     * RetryPolicy.newBuilder().setAttempts(2).build()}; at most the operator's limits.maxRetries.
     */
    public Builder retry(RetryPolicy policy) {
      this.retry = Objects.requireNonNull(policy, "policy");
      return this;
    }

    /** Load balancing, circuit breakers and outlier detection for the service. */
    public Builder traffic(TrafficPolicy policy) {
      this.traffic = Objects.requireNonNull(policy, "policy");
      return this;
    }

    /** A rate limit for every route that sets none. */
    public Builder rateLimit(RateLimitSpec limit) {
      this.rateLimit = Objects.requireNonNull(limit, "limit");
      return this;
    }

    /**
     * The registration, immutable.
     *
     * @throws IllegalStateException when {@link #instance} was not called
     */
    public ServiceRegistration build() {
      if (instanceId == null) {
        throw new IllegalStateException("instance(id, host, port) is required");
      }
      return new ServiceRegistration(this);
    }

    private static String requireNonBlank(@Nullable String value, String what) {
      if (value == null || value.isBlank()) {
        throw new IllegalArgumentException(what + " must not be blank");
      }
      return value;
    }
  }
}
