package io.signalbox.translate;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.SourcedMetadata;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBACPerRoute;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.type.matcher.v3.DoubleMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ListMatcher;
import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.envoyproxy.envoy.type.matcher.v3.OrMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ValueMatcher;
import io.signalbox.config.GatewaySettings;
import io.signalbox.model.AuthRequirement;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Required scopes and claims of a valid token (envoy.filters.http.rbac on the JWT payload): 403
 * when missing.
 *
 * <p>The filter runs after JWT authentication and has no rules of its own, so it lets every request
 * pass unless the route carries an ALLOW policy: a route with requirements allows only requests
 * whose verified payload (in the dynamic metadata {@link JwtAuthnFilterTranslator} writes) carries
 * every required scope and, for every required claim, one of its accepted values.
 */
final class ClaimAuthorizationFilterTranslator implements HttpFilterTranslator {

  /** A JSON number short enough to be exact as a double. */
  private static final Pattern JSON_NUMBER =
      Pattern.compile("-?(0|[1-9][0-9]{0,14})(\\.[0-9]{1,6})?");

  @Override
  public List<HttpFilter> httpFilters(GatewaySettings settings) {
    if (settings.jwtProviders().isEmpty()) {
      return List.of();
    }
    return List.of(
        HttpFilter.newBuilder()
            .setName(XdsNames.RBAC_FILTER)
            .setTypedConfig(Any.pack(RBAC.getDefaultInstance()))
            .build());
  }

  @Override
  public void patchRoute(PolicyRoute route, Route.Builder envoyRoute, GatewaySettings settings) {
    if (route.auth().isEmpty()) {
      return;
    }
    AuthRequirement auth = route.auth().get();
    if (auth.requiredScopes().isEmpty() && auth.requiredClaims().isEmpty()) {
      return;
    }
    List<Principal> conditions = new ArrayList<>();
    // The scope claim is a list in the metadata (the JWT filter splits it), so each scope must be
    // one of its items.
    auth.requiredScopes()
        .forEach(
            scope ->
                conditions.add(
                    payloadMatches(
                        List.of(XdsNames.JWT_SCOPE_CLAIM),
                        ValueMatcher.newBuilder()
                            .setListMatch(ListMatcher.newBuilder().setOneOf(exactly(scope)))
                            .build())));
    auth.requiredClaims()
        .forEach(claim -> conditions.add(payloadMatches(claim.path(), oneOf(claim.values()))));
    RBAC claimsPolicy =
        EnvoyProtos.allowOnly(
            XdsNames.REQUIRED_CLAIMS_POLICY,
            java.util.List.of(
                Principal.newBuilder()
                    .setAndIds(Principal.Set.newBuilder().addAllIds(conditions))
                    .build()));
    envoyRoute.putTypedPerFilterConfig(
        XdsNames.RBAC_FILTER, Any.pack(RBACPerRoute.newBuilder().setRbac(claimsPolicy).build()));
  }

  /**
   * A claim has an accepted value when it is one of {@code values}, or when it is a list (such as
   * "groups" or "roles") that contains one of them. Accepted values are strings in the registry
   * API, while a token's claim may be a JSON boolean or number ({@code "email_verified": true}):
   * such values also match as that type.
   */
  private static ValueMatcher oneOf(List<String> values) {
    OrMatcher.Builder anyOf = OrMatcher.newBuilder();
    for (String value : values) {
      anyOf.addValueMatchers(exactly(value));
      if (value.equals("true") || value.equals("false")) {
        anyOf.addValueMatchers(ValueMatcher.newBuilder().setBoolMatch(Boolean.parseBoolean(value)));
      } else if (JSON_NUMBER.matcher(value).matches()) {
        anyOf.addValueMatchers(
            ValueMatcher.newBuilder()
                .setDoubleMatch(DoubleMatcher.newBuilder().setExact(Double.parseDouble(value))));
      }
    }
    values.forEach(
        value ->
            anyOf.addValueMatchers(
                ValueMatcher.newBuilder()
                    .setListMatch(ListMatcher.newBuilder().setOneOf(exactly(value)))));
    return ValueMatcher.newBuilder().setOrMatch(anyOf).build();
  }

  private static ValueMatcher exactly(String value) {
    return ValueMatcher.newBuilder()
        .setStringMatch(StringMatcher.newBuilder().setExact(value))
        .build();
  }

  private static Principal payloadMatches(List<String> claimPath, ValueMatcher value) {
    MetadataMatcher.Builder matcher =
        MetadataMatcher.newBuilder()
            .setFilter(XdsNames.JWT_AUTHN_FILTER)
            .addPath(
                MetadataMatcher.PathSegment.newBuilder().setKey(XdsNames.JWT_PAYLOAD_METADATA_KEY));
    claimPath.forEach(
        segment -> matcher.addPath(MetadataMatcher.PathSegment.newBuilder().setKey(segment)));
    return Principal.newBuilder()
        .setSourcedMetadata(
            SourcedMetadata.newBuilder().setMetadataMatcher(matcher.setValue(value)))
        .build();
  }
}
