package io.signalbox.client;

import io.signalbox.registry.v1.AuthPolicy;
import io.signalbox.registry.v1.ClaimRequirement;
import io.signalbox.registry.v1.ClaimToHeader;
import java.util.List;
import java.util.Objects;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;

/**
 * A JWT requirement, immutable like {@link RouteSpec}: {@code
 * AuthSpec.jwt("corp").requireScopes("orders:read") .forwardClaim("sub", "x-user-id")}. The
 * provider (issuer, audiences, keys) is declared by the operator in the gateway settings; a route
 * only names it.
 */
public final class AuthSpec {

  private final AuthPolicy policy;

  private AuthSpec(AuthPolicy policy) {
    this.policy = policy;
  }

  /** Requests need a valid token from this provider of the gateway settings. */
  public static AuthSpec jwt(String provider) {
    Objects.requireNonNull(provider, "provider");
    return new AuthSpec(AuthPolicy.newBuilder().setProvider(provider).build());
  }

  /** The token's space-delimited "scope" claim must contain all of these (403 otherwise). */
  public AuthSpec requireScopes(String... scopes) {
    return with(b -> b.addAllRequiredScopes(List.of(scopes)));
  }

  /**
   * The token must carry {@code claim} with one of {@code values} (403 otherwise); nested claims as
   * "a.b".
   */
  public AuthSpec requireClaim(String claim, String... values) {
    Objects.requireNonNull(claim, "claim");
    return with(
        b ->
            b.addRequiredClaims(
                ClaimRequirement.newBuilder().setName(claim).addAllValues(List.of(values))));
  }

  /** Copies a claim of the verified token into a request header for the service. */
  public AuthSpec forwardClaim(String claim, String header) {
    Objects.requireNonNull(claim, "claim");
    Objects.requireNonNull(header, "header");
    return with(
        b -> b.addForwardClaims(ClaimToHeader.newBuilder().setClaim(claim).setHeader(header)));
  }

  /** The wire form, as sent in a {@code RegisterRequest}. */
  public AuthPolicy toProto() {
    return policy;
  }

  private AuthSpec with(UnaryOperator<AuthPolicy.Builder> change) {
    return new AuthSpec(change.apply(policy.toBuilder()).build());
  }

  @Override
  public boolean equals(@Nullable Object o) {
    return o instanceof AuthSpec other && policy.equals(other.policy);
  }

  @Override
  public int hashCode() {
    return policy.hashCode();
  }

  @Override
  public String toString() {
    return "AuthSpec{" + policy.toString().replace('\n', ' ').trim() + "}";
  }
}
