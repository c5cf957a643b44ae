package io.signalbox.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.signalbox.registry.v1.AuthPolicy;
import io.signalbox.registry.v1.ClaimRequirement;
import io.signalbox.registry.v1.ClaimToHeader;
import io.signalbox.registry.v1.RateLimitPolicy;
import io.signalbox.registry.v1.RegisterRequest;
import org.junit.jupiter.api.Test;

/** Policies as a service declares them through the SDK, and their wire form. */
class PolicySpecTest {

  @Test
  void aJwtRequirementWithScopesClaimsAndForwardedClaims() {
    AuthSpec auth =
        AuthSpec.jwt("corp")
            .requireScopes("orders:read", "orders:write")
            .requireClaim("tenant", "acme", "globex")
            .forwardClaim("sub", "x-user-id");

    assertThat(auth.toProto())
        .isEqualTo(
            AuthPolicy.newBuilder()
                .setProvider("corp")
                .addRequiredScopes("orders:read")
                .addRequiredScopes("orders:write")
                .addRequiredClaims(
                    ClaimRequirement.newBuilder()
                        .setName("tenant")
                        .addValues("acme")
                        .addValues("globex"))
                .addForwardClaims(ClaimToHeader.newBuilder().setClaim("sub").setHeader("x-user-id"))
                .build());
  }

  @Test
  void aGlobalLimitPerHeaderThatFailsClosed() {
    RateLimitSpec limit = RateLimitSpec.perMinute(10).global().perHeader("x-api-key").failClosed();

    assertThat(limit.toProto())
        .isEqualTo(
            RateLimitPolicy.newBuilder()
                .setRequests(10)
                .setUnit(RateLimitPolicy.Unit.MINUTE)
                .setScope(RateLimitPolicy.Scope.GLOBAL)
                .setPerHeader("x-api-key")
                .setFailureMode(RateLimitPolicy.FailureMode.DENY)
                .build());
  }

  @Test
  void perClientIpAndPerHeaderReplaceEachOther() {
    assertThat(RateLimitSpec.perSecond(5).perHeader("x-api-key").perClientIp().toProto())
        .isEqualTo(
            RateLimitPolicy.newBuilder()
                .setRequests(5)
                .setUnit(RateLimitPolicy.Unit.SECOND)
                .setPerClientIp(true)
                .build());
  }

  @Test
  void aLimitBelowOneIsRefusedBeforeItReachesTheServer() {
    assertThatThrownBy(() -> RateLimitSpec.perHour(0)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void routePoliciesAndServiceDefaultsReachTheRequest() {
    RegisterRequest request =
        ServiceRegistration.builder("orders")
            .instance("orders-1", "10.0.0.7", 8080)
            .auth(AuthSpec.jwt("corp"))
            .rateLimit(RateLimitSpec.perSecond(100))
            .route(Routes.prefix("/orders").rateLimit(RateLimitSpec.perMinute(10).global()))
            .route(Routes.exact("/orders/health").publicRoute())
            .build()
            .toRequest();

    assertThat(request.getAuth().getProvider()).isEqualTo("corp");
    assertThat(request.getRateLimit().getRequests()).isEqualTo(100);
    assertThat(request.getRoutes(0).getRateLimit().getScope())
        .isEqualTo(RateLimitPolicy.Scope.GLOBAL);
    assertThat(request.getRoutes(1).getPublic()).isTrue();
  }

  @Test
  void publicAndAuthOnOneRouteReplaceEachOther() {
    assertThat(Routes.prefix("/a").auth(AuthSpec.jwt("corp")).publicRoute().toProto().hasAuth())
        .isFalse();
    assertThat(Routes.prefix("/a").publicRoute().auth(AuthSpec.jwt("corp")).toProto().getPublic())
        .isFalse();
  }
}
