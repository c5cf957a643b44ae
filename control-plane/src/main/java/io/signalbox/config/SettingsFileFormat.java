package io.signalbox.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * The YAML shape of the settings file, bound by Jackson with unknown properties rejected (a
 * misspelt key is an error, not a silently ignored setting). {@link GatewaySettingsLoader} checks
 * the values and builds the model.
 */
final class SettingsFileFormat {

  public List<Listener> listeners;
  public List<Certificate> certificates = new ArrayList<>();
  public List<JwtProvider> jwtProviders = new ArrayList<>();
  public Defaults defaults;
  public Limits limits;
  public RateLimitService rateLimitService;
  public Access access;
  public Upstreams upstreams;

  public AccessLog accessLog;
  public Sidecars sidecars;

  static final class AccessLog {
    public String path;
  }

  static final class Sidecars {
    public String outboundAddress = SidecarSettings.DEFAULT.outboundAddress();
    public int outboundPort = SidecarSettings.DEFAULT.outboundPort();
    public String certificateValidity = "1h";
    public java.util.Map<String, Integer> outboundPorts = new java.util.LinkedHashMap<>();
    public MeshCa ca;
    public String domain;
  }

  static final class MeshCa {
    public String certificateFile;
    public String privateKeyFile;
  }

  static final class Listener {
    public String name;
    public String address = "0.0.0.0";
    public Integer port;
    public String protocol = "http";
    public boolean redirectToHttps;
    public String minTlsVersion;
  }

  static final class Certificate {
    public String name;
    public List<String> hosts = new ArrayList<>();
    public List<String> services = new ArrayList<>();
    public String certificateFile;
    public String privateKeyFile;
  }

  static final class JwtProvider {
    public String name;
    public String issuer;
    public List<String> audiences = new ArrayList<>();
    public boolean anyAudience;
    public boolean forwardToken;
    public boolean requireExpiration = true;
    public Jwks jwks;
  }

  static final class Jwks {
    public String inline;
    public String file;
    public RemoteJwks remote;
  }

  static final class RemoteJwks {
    public String uri;
    public String cacheDuration = "5m";
    public String timeout = "1s";
    public boolean insecureHttp;
  }

  static final class Defaults {
    /** An {@code AuthPolicy} of the registry API, in its JSON form. */
    public JsonNode auth;

    /** A {@code RateLimitPolicy} of the registry API, in its JSON form. */
    public JsonNode rateLimit;

    public String rateLimitFailureMode;
  }

  static final class Limits {
    public Integer maxRoutesPerService;
    public Integer maxRequestHeadersKb;
    public String upstreamConnectTimeout;
    public Integer maxRegexProgramSize;
    public Integer maxRetries;
    public String maxRouteTimeout;
    public Integer maxServices;
    public Integer maxInstancesPerService;
    public Integer maxServicesPerIdentity;
    public Integer maxInstancesPerIdentity;
    public Integer maxHosts;
    public String maxRegistryBytes;
    public Integer maxPlacedRoutes;
  }

  static final class RateLimitService {
    public String address;
    public String timeout;
    public String counterMemory;
  }

  /** Who may do what: {@link io.signalbox.security.AccessPolicy}. */
  static final class Access {
    public String trustDomain;
    public List<Registrant> registrants = new ArrayList<>();
    public List<ServiceGrant> services = new ArrayList<>();
    public List<Envoy> envoys = new ArrayList<>();
    public List<Operator> operators = new ArrayList<>();
    public List<Callers> callers = new ArrayList<>();
  }

  static final class Callers {
    public String service;
    public List<String> allowed;
  }

  static final class Registrant {
    public String identity;
    public List<String> services = new ArrayList<>();
  }

  static final class ServiceGrant {
    public String service;
    public List<String> hosts;
    public List<String> pathPrefixes;
  }

  static final class Envoy {
    public String identity;
    public List<String> groups = new ArrayList<>();
  }

  static final class Operator {
    public String identity;
    public String role;
  }

  static final class Upstreams {
    public List<String> allowCidrs = new ArrayList<>();
    public List<String> denyCidrs = new ArrayList<>();
    public List<Integer> denyPorts;
    public List<Certificate> clientCertificates = new ArrayList<>();
  }
}
