package io.signalbox.config;

import io.signalbox.registry.RegistrationRules;
import io.signalbox.registry.UpstreamAddressPolicy;
import io.signalbox.security.AccessPolicy;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * What the operator decides about the gateway, as opposed to what services register. Immutable; a
 * reload builds a new value and the pipeline translates the registry again with it.
 *
 * @param listeners in the order the operator declared them
 * @param certificates in the order declared; the first is the default for clients without a
 *     matching SNI name
 * @param jwtProviders by name
 * @param upstreams where registered instances may point (loopback, link-local and Envoy's admin
 *     port are refused unless allowed)
 * @param upstreamClientCertificates certificates Envoy may present to instances that ask for one
 *     (mutual TLS), named by a registration's {@code traffic.tls.client_certificate}; their hosts
 *     are empty
 * @param sidecars the outbound listener of sidecar Envoys
 * @param access who may register which services, fetch which node groups and use the admin API; not
 *     an input of translation (the translator ignores it), but loaded and reloaded with the rest of
 *     the operator's settings
 */
public record GatewaySettings(
    List<ListenerSpec> listeners,
    List<CertificateSpec> certificates,
    SortedMap<String, JwtProviderSpec> jwtProviders,
    PolicyDefaults defaults,
    GatewayLimits limits,
    RateLimitServiceSpec rateLimitService,
    AccessPolicy access,
    UpstreamAddressPolicy upstreams,
    List<CertificateSpec> upstreamClientCertificates,
    Optional<AccessLogSpec> accessLog,
    SidecarSettings sidecars) {

  /** Listener name of the plaintext listener a gateway has when nothing else is configured. */
  public static final String DEFAULT_LISTENER = "http";

  /**
   * One plaintext listener on 0.0.0.0:10000, no certificates, no JWT providers, no default
   * policies.
   */
  public static final GatewaySettings DEFAULT = plaintext("0.0.0.0", 10000);

  public GatewaySettings {
    listeners = List.copyOf(listeners);
    certificates = List.copyOf(certificates);
    jwtProviders = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(jwtProviders));
    Objects.requireNonNull(defaults, "defaults");
    Objects.requireNonNull(limits, "limits");
    Objects.requireNonNull(rateLimitService, "rateLimitService");
    Objects.requireNonNull(access, "access");
    upstreamClientCertificates = List.copyOf(upstreamClientCertificates);
    Objects.requireNonNull(sidecars, "sidecars");
  }

  /** Just a plaintext listener named {@value #DEFAULT_LISTENER} on {@code address:port}. */
  public static GatewaySettings plaintext(String address, int port) {
    return builder().listener(ListenerSpec.http(DEFAULT_LISTENER, address, port)).build();
  }

  public Optional<JwtProviderSpec> jwtProvider(String name) {
    return Optional.ofNullable(jwtProviders.get(name));
  }

  /**
   * What the settings in force allow a registration, read anew for each registration (settings
   * reload).
   */
  public static RegistrationRules registrationRules(Supplier<GatewaySettings> current) {
    return new RegistrationRules() {
      @Override
      public Set<String> jwtProviders() {
        return current.get().jwtProviders().keySet();
      }

      @Override
      public int maxRoutesPerService() {
        return current.get().limits().maxRoutesPerService();
      }

      @Override
      public int maxRegexProgramSize() {
        return current.get().limits().maxRegexProgramSize();
      }

      @Override
      public UpstreamAddressPolicy upstreams() {
        return current.get().upstreams();
      }

      @Override
      public Set<String> upstreamClientCertificatesFor(String service) {
        return current.get().upstreamClientCertificates().stream()
            .filter(certificate -> certificate.grantedTo(service))
            .map(CertificateSpec::name)
            .collect(java.util.stream.Collectors.toUnmodifiableSet());
      }

      @Override
      public int maxRetries() {
        return current.get().limits().maxRetries();
      }

      @Override
      public java.time.Duration maxRouteTimeout() {
        return current.get().limits().maxRouteTimeout();
      }
    };
  }

  public Optional<ListenerSpec> listener(String name) {
    return listeners.stream().filter(l -> l.name().equals(name)).findFirst();
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    Builder builder = new Builder();
    listeners.forEach(builder::listener);
    certificates.forEach(builder::certificate);
    jwtProviders.values().forEach(builder::jwtProvider);
    upstreamClientCertificates.forEach(builder::upstreamClientCertificate);
    return builder
        .defaults(defaults)
        .limits(limits)
        .rateLimitService(rateLimitService)
        .access(access)
        .upstreams(upstreams)
        .accessLog(accessLog)
        .sidecars(sidecars);
  }

  /** Builds settings; everything is optional, but a gateway without listeners serves nothing. */
  public static final class Builder {
    private final Map<String, ListenerSpec> listeners = new LinkedHashMap<>();
    private final List<CertificateSpec> certificates = new ArrayList<>();
    private final Map<String, JwtProviderSpec> jwtProviders = new LinkedHashMap<>();
    private PolicyDefaults defaults = PolicyDefaults.NONE;
    private GatewayLimits limits = GatewayLimits.DEFAULT;
    private RateLimitServiceSpec rateLimitService = RateLimitServiceSpec.BUILT_IN;
    private AccessPolicy access = AccessPolicy.DEFAULT;
    private UpstreamAddressPolicy upstreams = UpstreamAddressPolicy.DEFAULT;
    private final List<CertificateSpec> upstreamClientCertificates = new ArrayList<>();
    private Optional<AccessLogSpec> accessLog = Optional.empty();
    private SidecarSettings sidecars = SidecarSettings.DEFAULT;

    /** Adds a listener, or replaces the one of the same name. */
    public Builder listener(ListenerSpec listener) {
      listeners.put(listener.name(), listener);
      return this;
    }

    public Builder clearListeners() {
      listeners.clear();
      return this;
    }

    public Builder certificate(CertificateSpec certificate) {
      certificates.add(certificate);
      return this;
    }

    public Builder jwtProvider(JwtProviderSpec provider) {
      jwtProviders.put(provider.name(), provider);
      return this;
    }

    public Builder defaults(PolicyDefaults policyDefaults) {
      this.defaults = policyDefaults;
      return this;
    }

    public Builder limits(GatewayLimits gatewayLimits) {
      this.limits = gatewayLimits;
      return this;
    }

    public Builder rateLimitService(RateLimitServiceSpec service) {
      this.rateLimitService = service;
      return this;
    }

    public Builder access(AccessPolicy policy) {
      this.access = policy;
      return this;
    }

    public Builder upstreams(UpstreamAddressPolicy policy) {
      this.upstreams = policy;
      return this;
    }

    /** A client certificate Envoy may present to instances (mutual TLS to upstreams). */
    public Builder upstreamClientCertificate(CertificateSpec certificate) {
      upstreamClientCertificates.add(certificate);
      return this;
    }

    /** One JSON line per request from every listener; empty writes none. */
    public Builder accessLog(Optional<AccessLogSpec> log) {
      this.accessLog = log;
      return this;
    }

    public Builder sidecars(SidecarSettings settings) {
      this.sidecars = settings;
      return this;
    }

    public GatewaySettings build() {
      return new GatewaySettings(
          List.copyOf(listeners.values()),
          certificates,
          new TreeMap<>(jwtProviders),
          defaults,
          limits,
          rateLimitService,
          access,
          upstreams,
          upstreamClientCertificates,
          accessLog,
          sidecars);
    }
  }
}
