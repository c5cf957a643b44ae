package io.signalbox.registry;

import static io.signalbox.registry.Fields.HEADER_NAME;
import static io.signalbox.registry.Fields.abbreviate;
import static io.signalbox.registry.Fields.check;

import io.signalbox.model.AuthRequirement;
import io.signalbox.model.AuthRequirement.ClaimRequirement;
import io.signalbox.model.AuthRequirement.ClaimToHeader;
import io.signalbox.model.RateLimit;
import io.signalbox.registry.v1.AuthPolicy;
import io.signalbox.registry.v1.RateLimitPolicy;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Checks the policy messages of the registry API ({@link AuthPolicy}, {@link RateLimitPolicy}) and
 * turns them into model values. Used for registrations and for the operator's default policies,
 * which share the same shape.
 */
public final class PolicyValidator {

  static final int MAX_SCOPES = 16;
  static final int MAX_CLAIMS = 16;
  static final int MAX_CLAIM_VALUES = 32;

  /**
   * Far above any sane limit; keeps token-bucket arithmetic in Envoy and in our counters well
   * inside an int.
   */
  static final int MAX_REQUESTS = 1_000_000_000;

  private static final Pattern CLAIM_NAME =
      Pattern.compile("[A-Za-z0-9_:-]{1,64}(\\.[A-Za-z0-9_:-]{1,64}){0,3}");
  private static final Pattern SCOPE = Pattern.compile("[\\x21-\\x7e&&[^\"\\\\]]{1,128}");

  /**
   * Headers a claim must not overwrite: they steer routing or the connection, or carry the token
   * itself.
   */
  private static final Set<String> RESERVED_HEADERS =
      Set.of(
          "host",
          "authorization",
          "connection",
          "content-length",
          "transfer-encoding",
          "te",
          "upgrade",
          "keep-alive",
          "proxy-connection",
          "x-forwarded-for",
          "x-request-id");

  private PolicyValidator() {}

  /**
   * @param providers names of the JWT providers the gateway settings declare
   */
  public static AuthRequirement auth(String field, AuthPolicy proto, Set<String> providers) {
    String provider = proto.getProvider();
    check(!provider.isEmpty(), field + ".provider", "is required");
    check(
        providers.contains(provider),
        field + ".provider",
        "'"
            + abbreviate(provider)
            + "' is not a JWT provider "
            + "of this gateway (configured: "
            + (providers.isEmpty() ? "none" : String.join(", ", sorted(providers)))
            + ")");
    check(
        proto.getRequiredScopesCount() <= MAX_SCOPES,
        field + ".required_scopes",
        "has more than " + MAX_SCOPES);
    for (int i = 0; i < proto.getRequiredScopesCount(); i++) {
      check(
          SCOPE.matcher(proto.getRequiredScopes(i)).matches(),
          field + ".required_scopes[" + i + "]",
          "'"
              + abbreviate(proto.getRequiredScopes(i))
              + "' must be 1-128 printable ASCII characters without spaces");
    }
    check(
        proto.getRequiredClaimsCount() <= MAX_CLAIMS,
        field + ".required_claims",
        "has more than " + MAX_CLAIMS);
    List<ClaimRequirement> claims = new ArrayList<>();
    Set<String> claimNames = new HashSet<>();
    for (int i = 0; i < proto.getRequiredClaimsCount(); i++) {
      String claimField = field + ".required_claims[" + i + "]";
      var claim = proto.getRequiredClaims(i);
      claimName(claimField + ".name", claim.getName());
      check(
          claimNames.add(claim.getName()),
          claimField + ".name",
          "'" + claim.getName() + "' is listed twice");
      check(
          claim.getValuesCount() > 0,
          claimField + ".values",
          "at least one accepted value is required");
      check(
          claim.getValuesCount() <= MAX_CLAIM_VALUES,
          claimField + ".values",
          "has more than " + MAX_CLAIM_VALUES);
      for (int v = 0; v < claim.getValuesCount(); v++) {
        String value = claim.getValues(v);
        check(
            !value.isEmpty()
                && value.length() <= 256
                && value.chars().allMatch(c -> c >= 0x20 && c != 0x7f),
            claimField + ".values[" + v + "]",
            "must be 1-256 printable characters");
      }
      claims.add(new ClaimRequirement(claim.getName(), claim.getValuesList()));
    }
    check(
        proto.getForwardClaimsCount() <= MAX_CLAIMS,
        field + ".forward_claims",
        "has more than " + MAX_CLAIMS);
    List<ClaimToHeader> forwards = new ArrayList<>();
    Set<String> headers = new HashSet<>();
    for (int i = 0; i < proto.getForwardClaimsCount(); i++) {
      String forwardField = field + ".forward_claims[" + i + "]";
      var forward = proto.getForwardClaims(i);
      claimName(forwardField + ".claim", forward.getClaim());
      // Envoy reads a forwarded claim through its header formatter, where ':' separates path
      // segments: "ns:role"
      // would silently forward the nested claim ns.role instead.
      check(
          !forward.getClaim().contains(":"),
          forwardField + ".claim",
          "'"
              + abbreviate(forward.getClaim())
              + "' cannot be forwarded: ':' is not allowed in a forwarded claim");
      String header = forward.getHeader();
      check(
          HEADER_NAME.matcher(header).matches(),
          forwardField + ".header",
          "'" + abbreviate(header) + "' is not a lowercase HTTP header name");
      check(
          !RESERVED_HEADERS.contains(header) && !header.startsWith(":"),
          forwardField + ".header",
          "'" + header + "' is reserved");
      check(headers.add(header), forwardField + ".header", "'" + header + "' is used twice");
      forwards.add(new ClaimToHeader(forward.getClaim(), header));
    }
    return new AuthRequirement(provider, proto.getRequiredScopesList(), claims, forwards);
  }

  public static RateLimit rateLimit(String field, RateLimitPolicy proto) {
    check(
        proto.getRequests() >= 1, field + ".requests", proto.getRequests() + " must be at least 1");
    check(
        proto.getRequests() <= MAX_REQUESTS,
        field + ".requests",
        "must be at most " + MAX_REQUESTS);
    RateLimit.Unit unit =
        switch (proto.getUnitValue()) {
          case RateLimitPolicy.Unit.SECOND_VALUE -> RateLimit.Unit.SECOND;
          case RateLimitPolicy.Unit.MINUTE_VALUE -> RateLimit.Unit.MINUTE;
          case RateLimitPolicy.Unit.HOUR_VALUE -> RateLimit.Unit.HOUR;
          case RateLimitPolicy.Unit.UNIT_UNSPECIFIED_VALUE ->
              throw new InvalidFieldException(
                  field + ".unit", "is required (SECOND, MINUTE or HOUR)");
          default ->
              throw new InvalidFieldException(
                  field + ".unit",
                  "unknown unit " + proto.getUnitValue() + " (SECOND, MINUTE or HOUR)");
        };
    RateLimit.Scope scope =
        switch (proto.getScopeValue()) {
          case RateLimitPolicy.Scope.SCOPE_UNSPECIFIED_VALUE, RateLimitPolicy.Scope.LOCAL_VALUE ->
              RateLimit.Scope.LOCAL;
          case RateLimitPolicy.Scope.GLOBAL_VALUE -> RateLimit.Scope.GLOBAL;
          default ->
              throw new InvalidFieldException(
                  field + ".scope",
                  "unknown scope " + proto.getScopeValue() + " (LOCAL or GLOBAL)");
        };
    Optional<RateLimit.FailureMode> failureMode =
        switch (proto.getFailureModeValue()) {
          case RateLimitPolicy.FailureMode.FAILURE_MODE_UNSPECIFIED_VALUE -> Optional.empty();
          case RateLimitPolicy.FailureMode.ALLOW_VALUE -> Optional.of(RateLimit.FailureMode.ALLOW);
          case RateLimitPolicy.FailureMode.DENY_VALUE -> Optional.of(RateLimit.FailureMode.DENY);
          default ->
              throw new InvalidFieldException(
                  field + ".failure_mode",
                  "unknown failure mode " + proto.getFailureModeValue() + " (ALLOW or DENY)");
        };
    check(
        failureMode.isEmpty() || scope == RateLimit.Scope.GLOBAL,
        field + ".failure_mode",
        "applies only to GLOBAL limits; a LOCAL limit never depends on another server");
    Optional<String> perHeader = Optional.empty();
    if (!proto.getPerHeader().isEmpty()) {
      check(
          !proto.getPerClientIp(), field + ".per_header", "cannot be combined with per_client_ip");
      check(
          HEADER_NAME.matcher(proto.getPerHeader()).matches(),
          field + ".per_header",
          "'" + abbreviate(proto.getPerHeader()) + "' is not a lowercase HTTP header name");
      perHeader = Optional.of(proto.getPerHeader());
    }
    return new RateLimit(
        proto.getRequests(), unit, scope, proto.getPerClientIp(), perHeader, failureMode);
  }

  private static void claimName(String field, String name) {
    check(!name.isEmpty(), field, "is required");
    check(
        CLAIM_NAME.matcher(name).matches(),
        field,
        "'"
            + abbreviate(name)
            + "' is not a claim name: letters, "
            + "digits, '_', ':' and '-', nested claims joined by '.' (at most 4 levels)");
  }

  private static List<String> sorted(Set<String> names) {
    return names.stream().sorted().toList();
  }
}
