package io.signalbox.model;

import java.util.List;
import java.util.Objects;

/**
 * A route may only be reached with a valid JWT from {@code provider}; the token must also carry
 * every required scope and claim, and the listed claims are forwarded to the backend as request
 * headers.
 *
 * @param provider name of a JWT provider of the gateway settings
 * @param requiredScopes scopes that must all appear in the token's space-delimited {@code scope}
 *     claim, sorted
 * @param requiredClaims claims that must each have one of the listed values, sorted by name
 * @param forwardClaims claims copied into request headers, sorted by header
 */
public record AuthRequirement(
    String provider,
    List<String> requiredScopes,
    List<ClaimRequirement> requiredClaims,
    List<ClaimToHeader> forwardClaims) {

  public AuthRequirement {
    Objects.requireNonNull(provider, "provider");
    requiredScopes =
        requiredScopes == null ? List.of() : requiredScopes.stream().sorted().distinct().toList();
    requiredClaims =
        requiredClaims == null
            ? List.of()
            : requiredClaims.stream().sorted((a, b) -> a.name().compareTo(b.name())).toList();
    forwardClaims =
        forwardClaims == null
            ? List.of()
            : forwardClaims.stream().sorted((a, b) -> a.header().compareTo(b.header())).toList();
  }

  /** Any valid token of the provider, nothing more. */
  public static AuthRequirement of(String provider) {
    return new AuthRequirement(provider, List.of(), List.of(), List.of());
  }

  /**
   * A claim that must be present with one of {@code values}.
   *
   * @param name claim name; nested claims as {@code a.b}
   */
  public record ClaimRequirement(String name, List<String> values) {
    public ClaimRequirement {
      Objects.requireNonNull(name, "name");
      values = values.stream().sorted().distinct().toList();
    }

    /** The claim's path inside the token payload. */
    public List<String> path() {
      return List.of(name.split("\\."));
    }
  }

  /** Copies claim {@code claim} into request header {@code header} (lowercase). */
  public record ClaimToHeader(String claim, String header) {
    public ClaimToHeader {
      Objects.requireNonNull(claim, "claim");
      Objects.requireNonNull(header, "header");
    }

    /** The claim's path inside the token payload. */
    public List<String> path() {
      return List.of(claim.split("\\."));
    }
  }
}
