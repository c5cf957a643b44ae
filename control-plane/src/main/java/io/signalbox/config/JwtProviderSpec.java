package io.signalbox.config;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * An issuer of JWTs the gateway accepts. Routes refer to it by name.
 *
 * @param audiences accepted {@code aud} values; empty accepts any audience
 * @param forwardToken keep the {@code Authorization} header when forwarding to the backend (Envoy removes it by
 *     default once the token is verified)
 */
public record JwtProviderSpec(String name, String issuer, List<String> audiences, Jwks jwks, boolean forwardToken) {

  public JwtProviderSpec {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(issuer, "issuer");
    audiences = List.copyOf(audiences);
    Objects.requireNonNull(jwks, "jwks");
  }

  /** Where the provider's public keys come from. */
  public sealed interface Jwks permits InlineJwks, FileJwks, RemoteJwks {
  }

  /** A JWKS document written into the settings file. */
  public record InlineJwks(String json) implements Jwks {
    public InlineJwks {
      Objects.requireNonNull(json, "json");
    }
  }

  /** A JWKS document in a local file, read (and re-read when it changes) by the control plane. */
  public record FileJwks(Path path, String json) implements Jwks {
    public FileJwks {
      Objects.requireNonNull(path, "path");
      Objects.requireNonNull(json, "json");
    }
  }

  /**
   * A JWKS that Envoy itself fetches from {@code uri} and caches for {@code cacheDuration}; a cluster for the URI's
   * host is generated.
   */
  public record RemoteJwks(URI uri, Duration cacheDuration, Duration timeout) implements Jwks {
    public RemoteJwks {
      Objects.requireNonNull(uri, "uri");
      Objects.requireNonNull(cacheDuration, "cacheDuration");
      Objects.requireNonNull(timeout, "timeout");
    }
  }
}
