package io.signalbox.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * The YAML shape of the settings file, bound by Jackson with unknown properties rejected (a misspelt key is an
 * error, not a silently ignored setting). {@link GatewaySettingsLoader} checks the values and builds the model.
 */
final class SettingsFileFormat {

  public List<Listener> listeners;
  public List<Certificate> certificates = new ArrayList<>();
  public List<JwtProvider> jwtProviders = new ArrayList<>();
  public Defaults defaults;
  public Limits limits;
  public RateLimitService rateLimitService;

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
    public String certificateFile;
    public String privateKeyFile;
  }

  static final class JwtProvider {
    public String name;
    public String issuer;
    public List<String> audiences = new ArrayList<>();
    public boolean forwardToken;
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
  }

  static final class RateLimitService {
    public String address;
    public String timeout;
  }
}
