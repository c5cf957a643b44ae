package io.signalbox.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.signalbox.model.AuthRequirement;
import io.signalbox.model.Registration;
import io.signalbox.registry.v1.AuthPolicy;
import io.signalbox.registry.v1.ClaimRequirement;
import io.signalbox.registry.v1.ClaimToHeader;
import io.signalbox.registry.v1.Instance;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.Route;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * An auth policy in a registration is refused naming the field at fault, or becomes an {@link
 * AuthRequirement}.
 */
class JwtPolicyValidationTest {

  private final RegistrationValidator validator =
      new RegistrationValidator(
          host -> Optional.of("10.0.0.1"),
          RegistrationRules.of(Set.of("corp"), RegistrationValidator.MAX_ROUTES));

  private static RegisterRequest withRouteAuth(AuthPolicy.Builder auth) {
    return RegisterRequest.newBuilder()
        .setService("orders")
        .setInstance(
            Instance.newBuilder().setId("orders-1").setHost("orders.internal").setPort(8080))
        .addRoutes(
            Route.newBuilder().setPath(PathMatch.newBuilder().setPrefix("/orders")).setAuth(auth))
        .build();
  }

  @Test
  void aValidPolicyBecomesTheRoutesRequirement() {
    Registration registration =
        validator.validate(
            withRouteAuth(
                AuthPolicy.newBuilder()
                    .setProvider("corp")
                    .addRequiredScopes("orders:read")
                    .addRequiredClaims(
                        ClaimRequirement.newBuilder().setName("tenant.tier").addValues("gold"))
                    .addForwardClaims(
                        ClaimToHeader.newBuilder().setClaim("sub").setHeader("x-user-id"))));

    assertThat(registration.routes().get(0).auth())
        .hasValue(
            new AuthRequirement(
                "corp",
                List.of("orders:read"),
                List.of(new AuthRequirement.ClaimRequirement("tenant.tier", List.of("gold"))),
                List.of(new AuthRequirement.ClaimToHeader("sub", "x-user-id"))));
  }

  @Test
  void anUnknownProviderIsRefusedNamingTheFieldAndTheConfiguredProviders() {
    assertThatThrownBy(
            () -> validator.validate(withRouteAuth(AuthPolicy.newBuilder().setProvider("corpp"))))
        .isInstanceOfSatisfying(
            InvalidFieldException.class,
            e -> {
              assertThat(e.field()).isEqualTo("routes[0].auth.provider");
              assertThat(e.getMessage()).contains("'corpp'").contains("corp");
            });
  }

  @Test
  void aMalformedRequiredClaimNameIsRefused() {
    assertThatThrownBy(
            () ->
                validator.validate(
                    withRouteAuth(
                        AuthPolicy.newBuilder()
                            .setProvider("corp")
                            .addRequiredClaims(
                                ClaimRequirement.newBuilder()
                                    .setName("tenant..tier")
                                    .addValues("gold")))))
        .isInstanceOfSatisfying(
            InvalidFieldException.class,
            e -> assertThat(e.field()).isEqualTo("routes[0].auth.required_claims[0].name"));
  }

  @Test
  void aForwardedClaimWithAColonIsRefusedBecauseEnvoyWouldReadAnotherClaim() {
    assertThatThrownBy(
            () ->
                validator.validate(
                    withRouteAuth(
                        AuthPolicy.newBuilder()
                            .setProvider("corp")
                            .addForwardClaims(
                                ClaimToHeader.newBuilder()
                                    .setClaim("ns:role")
                                    .setHeader("x-role")))))
        .isInstanceOfSatisfying(
            InvalidFieldException.class,
            e -> assertThat(e.field()).isEqualTo("routes[0].auth.forward_claims[0].claim"));
  }

  @Test
  void aRequiredClaimWithAColonIsFineBecauseItIsMatchedByExplicitPathSegments() {
    Registration registration =
        validator.validate(
            withRouteAuth(
                AuthPolicy.newBuilder()
                    .setProvider("corp")
                    .addRequiredClaims(
                        ClaimRequirement.newBuilder().setName("ns:role").addValues("admin"))));

    assertThat(registration.routes().get(0).auth().orElseThrow().requiredClaims().get(0).path())
        .containsExactly("ns:role");
  }
}
