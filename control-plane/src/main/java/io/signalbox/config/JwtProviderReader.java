package io.signalbox.config;

import static io.signalbox.config.GatewaySettingsLoader.check;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.BiFunction;

/**
 * Checks one entry of {@code jwtProviders:} and builds its {@link JwtProviderSpec}; errors name the
 * field, e.g. {@code jwtProviders[0].jwks.inline.keys[1].d}.
 */
final class JwtProviderReader {

  private JwtProviderReader() {}

  /**
   * @param file resolves a path the settings name (relative to the settings file) and records it
   *     for the watcher
   * @param read reads such a file
   */
  static JwtProviderSpec read(
      String field,
      SettingsFileFormat.JwtProvider format,
      BiFunction<String, String, Path> file,
      BiFunction<String, Path, String> read) {
    String name = GatewaySettingsLoader.name(field + ".name", format.name);
    check(format.issuer != null && !format.issuer.isBlank(), field + ".issuer", "is required");
    for (int i = 0; i < format.audiences.size(); i++) {
      String audience = format.audiences.get(i);
      check(audience != null && !audience.isBlank(), field + ".audiences[" + i + "]", "is empty");
    }
    check(format.jwks != null, field + ".jwks", "is required: one of inline, file or remote");
    SettingsFileFormat.Jwks jwks = format.jwks;
    int sources =
        (jwks.inline != null ? 1 : 0) + (jwks.file != null ? 1 : 0) + (jwks.remote != null ? 1 : 0);
    check(sources == 1, field + ".jwks", "needs exactly one of inline, file or remote");
    JwtProviderSpec.Jwks keys;
    if (jwks.inline != null) {
      PublicJwks.check(field + ".jwks.inline", jwks.inline);
      keys = new JwtProviderSpec.InlineJwks(jwks.inline);
    } else if (jwks.file != null) {
      Path path = file.apply(field + ".jwks.file", jwks.file);
      String json = read.apply(field + ".jwks.file", path);
      PublicJwks.check(field + ".jwks.file", json);
      keys = new JwtProviderSpec.FileJwks(path, json);
    } else {
      keys = remoteJwks(field + ".jwks.remote", jwks.remote);
    }
    // An empty list once meant "any audience" without saying so: a token minted for another service
    // of the same
    // issuer would then be accepted here too.
    check(
        !format.audiences.isEmpty() || format.anyAudience,
        field + ".audiences",
        "name the audiences a token must be for, or set anyAudience: true to accept any");
    check(
        format.audiences.isEmpty() || !format.anyAudience,
        field + ".anyAudience",
        "true accepts any audience, which contradicts the listed audiences: keep one of the two");
    return new JwtProviderSpec(
        name,
        format.issuer,
        format.audiences,
        format.anyAudience,
        keys,
        format.forwardToken,
        format.requireExpiration);
  }

  private static JwtProviderSpec.RemoteJwks remoteJwks(
      String field, SettingsFileFormat.RemoteJwks format) {
    check(format.uri != null, field + ".uri", "is required");
    URI uri;
    try {
      uri = new URI(format.uri);
    } catch (URISyntaxException e) {
      throw new InvalidSettingsException(
          field + ".uri: '" + format.uri + "' is not a URI: " + e.getReason());
    }
    boolean http = "http".equals(uri.getScheme());
    check(
        (http || "https".equals(uri.getScheme())) && uri.getHost() != null,
        field + ".uri",
        "'" + format.uri + "' must be an absolute https URI");
    // Over plaintext, anyone on the path between Envoy and the issuer could hand Envoy keys of
    // their own.
    check(
        !http || format.insecureHttp,
        field + ".uri",
        "'"
            + format.uri
            + "' is plaintext HTTP, so anyone on the"
            + " network path could replace the keys: use https, or set insecureHttp: true to accept that");
    check(http || !format.insecureHttp, field + ".insecureHttp", "applies to http:// URIs only");
    Duration cache =
        GatewaySettingsLoader.positiveDuration(field + ".cacheDuration", format.cacheDuration);
    Duration timeout = GatewaySettingsLoader.positiveDuration(field + ".timeout", format.timeout);
    return new JwtProviderSpec.RemoteJwks(uri, cache, timeout, http);
  }
}
