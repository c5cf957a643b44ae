package io.signalbox.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.signalbox.model.AuthRequirement;
import io.signalbox.model.AuthRequirement.ClaimRequirement;
import io.signalbox.model.RateLimit;
import io.signalbox.model.RouteSpec;
import io.signalbox.registry.v1.AuthPolicy;
import io.signalbox.registry.v1.ClaimRequirement.Builder;
import io.signalbox.registry.v1.ClaimToHeader;
import io.signalbox.registry.v1.RateLimitPolicy;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.Route;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The policies a registration attaches to its routes: how they are inherited and which field an
 * error names.
 */
class RegistrationPoliciesTest {

  private static final RegistrationRules CORP_PROVIDER =
      RegistrationRules.of(Set.of("corp"), RegistrationValidator.MAX_ROUTES);

  private final RegistrationValidator validator =
      new RegistrationValidator(host -> Optional.of("10.0.0.1"), CORP_PROVIDER);

  private static Route.Builder route(String prefix) {
    return Route.newBuilder()
        .setPath(io.signalbox.registry.v1.PathMatch.newBuilder().setPrefix(prefix));
  }

  private static RegisterRequest.Builder request(Route.Builder... routes) {
    RegisterRequest.Builder request =
        RegisterRequest.newBuilder()
            .setService("orders")
            .setInstance(
                io.signalbox.registry.v1.Instance.newBuilder()
                    .setId("o-1")
                    .setHost("10.0.0.7")
                    .setPort(80));
    for (Route.Builder route : routes) {
      request.addRoutes(route);
    }
    return request;
  }

  private static AuthPolicy.Builder corp() {
    return AuthPolicy.newBuilder().setProvider("corp");
  }

  private static RateLimitPolicy.Builder perMinute(int requests) {
    return RateLimitPolicy.newBuilder().setRequests(requests).setUnit(RateLimitPolicy.Unit.MINUTE);
  }

  private List<RouteSpec> routes(RegisterRequest.Builder request) {
    return validator.validate(request.build()).routes();
  }

  private void assertRejected(RegisterRequest.Builder request, String field) {
    assertThatThrownBy(() -> validator.validate(request.build()))
        .isInstanceOf(InvalidFieldException.class)
        .satisfies(e -> assertThat(((InvalidFieldException) e).field()).isEqualTo(field))
        .hasMessageStartingWith(field + ": ");
  }

  @Nested
  class Inheritance {

    @Test
    void aRouteWithoutPoliciesHasNone() {
      RouteSpec route = routes(request(route("/orders"))).get(0);

      assertThat(route.auth()).isEmpty();
      assertThat(route.rateLimit()).isEmpty();
      assertThat(route.publicRoute()).isFalse();
    }

    @Test
    void routesInheritTheServicePolicies() {
      List<RouteSpec> routes =
          routes(
              request(route("/orders"), route("/carts"))
                  .setAuth(corp())
                  .setRateLimit(perMinute(60)));

      assertThat(routes)
          .allSatisfy(
              route -> {
                assertThat(route.auth()).hasValue(AuthRequirement.of("corp"));
                assertThat(route.rateLimit()).hasValue(RateLimit.local(60, RateLimit.Unit.MINUTE));
              });
    }

    @Test
    void aRoutesOwnPolicyReplacesTheServicePolicy() {
      RouteSpec route =
          routes(
                  request(
                          route("/orders")
                              .setAuth(corp().addRequiredScopes("orders:write"))
                              .setRateLimit(perMinute(5)))
                      .setAuth(corp())
                      .setRateLimit(perMinute(60)))
              .get(0);

      assertThat(route.auth().orElseThrow().requiredScopes()).containsExactly("orders:write");
      assertThat(route.rateLimit()).hasValue(RateLimit.local(5, RateLimit.Unit.MINUTE));
    }

    @Test
    void aPublicRouteOptsOutOfTheServiceAuthButKeepsItsLimit() {
      RouteSpec route =
          routes(
                  request(route("/health").setPublic(true))
                      .setAuth(corp())
                      .setRateLimit(perMinute(60)))
              .get(0);

      assertThat(route.publicRoute()).isTrue();
      assertThat(route.auth()).isEmpty();
      assertThat(route.rateLimit()).isPresent();
    }
  }

  @Nested
  class Auth {

    @Test
    void mapsScopesClaimsAndForwardedClaims() {
      RouteSpec route =
          routes(
                  request(
                      route("/orders")
                          .setAuth(
                              corp()
                                  .addRequiredScopes("orders:read")
                                  .addRequiredClaims(
                                      claim("tenant").addValues("acme").addValues("globex"))
                                  .addForwardClaims(
                                      ClaimToHeader.newBuilder()
                                          .setClaim("sub")
                                          .setHeader("x-user-id"))
                                  .addForwardClaims(
                                      ClaimToHeader.newBuilder()
                                          .setClaim("org.id")
                                          .setHeader("x-org-id")))))
              .get(0);

      assertThat(route.auth())
          .hasValue(
              new AuthRequirement(
                  "corp",
                  List.of("orders:read"),
                  List.of(new ClaimRequirement("tenant", List.of("acme", "globex"))),
                  List.of(
                      new AuthRequirement.ClaimToHeader("org.id", "x-org-id"),
                      new AuthRequirement.ClaimToHeader("sub", "x-user-id"))));
    }

    @Test
    void anUnknownProviderNamesTheFieldAndTheConfiguredProviders() {
      assertThatThrownBy(
              () ->
                  validator.validate(
                      request(route("/orders").setAuth(AuthPolicy.newBuilder().setProvider("acme")))
                          .build()))
          .hasMessage(
              "routes[0].auth.provider: 'acme' is not a JWT provider of this gateway (configured: corp)");
    }

    @Test
    void aMissingProvider() {
      assertRejected(request(route("/orders")).setAuth(AuthPolicy.newBuilder()), "auth.provider");
    }

    @Test
    void anUnknownProviderInTheServicePolicy() {
      assertRejected(
          request(route("/orders")).setAuth(AuthPolicy.newBuilder().setProvider("acme")),
          "auth.provider");
    }

    @Test
    void aPublicRouteWithAuth() {
      assertRejected(request(route("/orders").setPublic(true).setAuth(corp())), "routes[0].public");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "has space", "a..b", ".a", "a.b.c.d.e", "ümlaut", "x\"y"})
    void aMalformedClaimName(String name) {
      assertRejected(
          request(route("/orders").setAuth(corp().addRequiredClaims(claim(name).addValues("v")))),
          "routes[0].auth.required_claims[0].name");
    }

    @Test
    void aRequiredClaimWithoutValues() {
      assertRejected(
          request(route("/orders").setAuth(corp().addRequiredClaims(claim("tenant")))),
          "routes[0].auth.required_claims[0].values");
    }

    @Test
    void aMalformedForwardedClaim() {
      assertRejected(
          request(
              route("/orders")
                  .setAuth(
                      corp()
                          .addForwardClaims(
                              ClaimToHeader.newBuilder().setClaim("a b").setHeader("x-a")))),
          "routes[0].auth.forward_claims[0].claim");
    }

    @ParameterizedTest
    @ValueSource(strings = {"X-User", "authorization", "host", ":path", "x user", ""})
    void aForwardHeaderThatIsInvalidOrReserved(String header) {
      assertRejected(
          request(
              route("/orders")
                  .setAuth(
                      corp()
                          .addForwardClaims(
                              ClaimToHeader.newBuilder().setClaim("sub").setHeader(header)))),
          "routes[0].auth.forward_claims[0].header");
    }

    @Test
    void aScopeWithASpace() {
      assertRejected(
          request(route("/orders").setAuth(corp().addRequiredScopes("read write"))),
          "routes[0].auth.required_scopes[0]");
    }

    private static Builder claim(String name) {
      return io.signalbox.registry.v1.ClaimRequirement.newBuilder().setName(name);
    }
  }

  @Nested
  class RateLimits {

    @Test
    void mapsAGlobalPerHeaderLimitThatFailsClosed() {
      RouteSpec route =
          routes(
                  request(
                      route("/orders")
                          .setRateLimit(
                              perMinute(10)
                                  .setScope(RateLimitPolicy.Scope.GLOBAL)
                                  .setPerHeader("x-api-key")
                                  .setFailureMode(RateLimitPolicy.FailureMode.DENY))))
              .get(0);

      assertThat(route.rateLimit())
          .hasValue(
              RateLimit.global(10, RateLimit.Unit.MINUTE)
                  .withPerHeader("x-api-key")
                  .withFailureMode(RateLimit.FailureMode.DENY));
    }

    @Test
    void aLimitPerClientIp() {
      RouteSpec route =
          routes(request(route("/orders").setRateLimit(perMinute(10).setPerClientIp(true)))).get(0);

      assertThat(route.rateLimit())
          .hasValue(RateLimit.local(10, RateLimit.Unit.MINUTE).withPerClientIp());
    }

    @ParameterizedTest
    @ValueSource(ints = {0, -1, Integer.MIN_VALUE})
    void aZeroOrNegativeLimit(int requests) {
      assertRejected(
          request(route("/orders").setRateLimit(perMinute(requests))),
          "routes[0].rate_limit.requests");
    }

    @Test
    void aMissingUnit() {
      assertRejected(
          request(route("/orders").setRateLimit(RateLimitPolicy.newBuilder().setRequests(5))),
          "routes[0].rate_limit.unit");
    }

    @Test
    void anUnknownUnitNumberFromANewerClient() {
      assertRejected(
          request(
              route("/orders")
                  .setRateLimit(RateLimitPolicy.newBuilder().setRequests(5).setUnitValue(9))),
          "routes[0].rate_limit.unit");
    }

    @Test
    void anUnknownScope() {
      assertRejected(
          request(route("/orders").setRateLimit(perMinute(5).setScopeValue(7))),
          "routes[0].rate_limit.scope");
    }

    @Test
    void aFailureModeOnALocalLimit() {
      assertRejected(
          request(
              route("/orders")
                  .setRateLimit(perMinute(5).setFailureMode(RateLimitPolicy.FailureMode.DENY))),
          "routes[0].rate_limit.failure_mode");
    }

    @Test
    void perClientIpAndPerHeaderTogether() {
      assertRejected(
          request(
              route("/orders")
                  .setRateLimit(perMinute(5).setPerClientIp(true).setPerHeader("x-api-key"))),
          "routes[0].rate_limit.per_header");
    }

    @Test
    void anInvalidHeaderName() {
      assertRejected(
          request(route("/orders").setRateLimit(perMinute(5).setPerHeader("X-Api-Key"))),
          "routes[0].rate_limit.per_header");
    }

    @Test
    void anInvalidServiceLimit() {
      assertRejected(request(route("/orders")).setRateLimit(perMinute(0)), "rate_limit.requests");
    }
  }

  @Test
  void theOperatorsRouteLimitApplies() {
    RegistrationValidator strict =
        new RegistrationValidator(
            host -> Optional.of("10.0.0.1"), RegistrationRules.of(Set.of(), 1));

    assertThatThrownBy(() -> strict.validate(request(route("/a"), route("/b")).build()))
        .hasMessage("routes: has 2 routes; the limit is 1");
  }
}
