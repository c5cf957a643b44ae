package io.signalbox.config;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * An issuer of JWTs the gateway accepts. Routes refer to it by name.
 *
 * <p>What a token must prove is stated, never left to an empty list: either the audiences it must
 * name, or, by {@code anyAudience}, that any will do. Tokens must carry {@code exp} unless the
 * provider says otherwise. Keys written here (inline or in a file) must be public RSA, EC or OKP
 * keys ({@link PublicJwks}), and a remote JWKS is fetched over https unless the provider opts out
 * by name.
 *
 * @param audiences accepted {@code aud} values; empty exactly when {@code anyAudience}
 * @param anyAudience accept a token whatever its audience
 * @param forwardToken keep the {@code Authorization} header when forwarding to the backend (Envoy
 *     removes it by default once the token is verified)
 * @param requireExpiration refuse tokens without an {@code exp} claim (the default): such a token,
 *     once leaked, stays valid until its key is retired
 */
public record JwtProviderSpec(
    String name,
    String issuer,
    List<String> audiences,
    boolean anyAudience,
    Jwks jwks,
    boolean forwardToken,
    boolean requireExpiration) {

  public JwtProviderSpec {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(issuer, "issuer");
    audiences = List.copyOf(audiences);
    if (audiences.isEmpty() != anyAudience) {
      throw new IllegalArgumentException(
          "provider '"
              + name
              + "' must list its audiences or accept any audience,"
              + " one or the other");
    }
    Objects.requireNonNull(jwks, "jwks");
  }

  public static Builder builder(String name, String issuer) {
    return new Builder(name, issuer);
  }

  /** Where the provider's public keys come from. */
  public sealed interface Jwks permits InlineJwks, FileJwks, RemoteJwks {}

  /** A JWKS document written into the settings file; public keys only. */
  public record InlineJwks(String json) implements Jwks {
    public InlineJwks {
      PublicJwks.check("jwks.inline", json);
    }
  }

  /**
   * A JWKS document in a local file, read (and re-read when it changes) by the control plane;
   * public keys only.
   */
  public record FileJwks(Path path, String json) implements Jwks {
    public FileJwks {
      Objects.requireNonNull(path, "path");
      PublicJwks.check("jwks.file", json);
    }
  }

  /**
   * A JWKS that Envoy itself fetches from {@code uri} and caches for {@code cacheDuration}; a
   * cluster for the URI's host is generated.
   *
   * @param insecureHttp the operator's explicit consent to an {@code http://} URI, whose keys
   *     anyone on the path could replace; only allowed, and only needed, for one
   */
  public record RemoteJwks(URI uri, Duration cacheDuration, Duration timeout, boolean insecureHttp)
      implements Jwks {
    public RemoteJwks {
      Objects.requireNonNull(uri, "uri");
      Objects.requireNonNull(cacheDuration, "cacheDuration");
      Objects.requireNonNull(timeout, "timeout");
      if (insecureHttp != "http".equals(uri.getScheme())) {
        throw new IllegalArgumentException(
            insecureHttp
                ? "insecureHttp applies to http:// URIs only, not " + uri
                : uri + " is fetched over https, or over http with insecureHttp");
      }
    }

    /** Over https. */
    public RemoteJwks(URI uri, Duration cacheDuration, Duration timeout) {
      this(uri, cacheDuration, timeout, false);
    }
  }

  /** A provider that lists its audiences and requires {@code exp} unless told otherwise. */
  public static final class Builder {
    private final String name;
    private final String issuer;
    private List<String> audiences = List.of();
    private boolean anyAudience;
    private Jwks jwks;
    private boolean forwardToken;
    private boolean requireExpiration = true;

    private Builder(String name, String issuer) {
      this.name = name;
      this.issuer = issuer;
    }

    public Builder audiences(String... audiences) {
      this.audiences = List.of(audiences);
      return this;
    }

    public Builder anyAudience() {
      this.anyAudience = true;
      return this;
    }

    public Builder jwks(Jwks jwks) {
      this.jwks = jwks;
      return this;
    }

    public Builder forwardToken(boolean forward) {
      this.forwardToken = forward;
      return this;
    }

    public Builder requireExpiration(boolean require) {
      this.requireExpiration = require;
      return this;
    }

    public JwtProviderSpec build() {
      return new JwtProviderSpec(
          name, issuer, audiences, anyAudience, jwks, forwardToken, requireExpiration);
    }
  }
}
