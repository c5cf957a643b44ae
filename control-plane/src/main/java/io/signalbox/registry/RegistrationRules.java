package io.signalbox.registry;

import java.util.Set;

/**
 * What the operator's gateway settings allow a registration, as the validator needs it (the registry does not
 * depend on the settings model).
 */
public interface RegistrationRules {

  /** No JWT providers, the API's route limit. */
  RegistrationRules DEFAULT = new RegistrationRules() {
    @Override
    public Set<String> jwtProviders() {
      return Set.of();
    }

    @Override
    public int maxRoutesPerService() {
      return RegistrationValidator.MAX_ROUTES;
    }
  };

  /** Names of the JWT providers a route's auth policy may name. */
  Set<String> jwtProviders();

  /** Routes one registration may declare, at most {@link RegistrationValidator#MAX_ROUTES}. */
  int maxRoutesPerService();
}
