package io.signalbox.registry;

import java.util.Set;

/**
 * What the operator's gateway settings allow a registration, as the validator needs it (the
 * registry does not depend on the settings model).
 */
public interface RegistrationRules {

  /** No JWT providers, the API's route limit. */
  RegistrationRules DEFAULT = of(Set.of(), RegistrationValidator.MAX_ROUTES);

  /**
   * Fixed rules, for tests and tools; a running control plane reads its current settings instead.
   */
  static RegistrationRules of(Set<String> jwtProviders, int maxRoutesPerService) {
    Set<String> providers = Set.copyOf(jwtProviders);
    return new RegistrationRules() {
      @Override
      public Set<String> jwtProviders() {
        return providers;
      }

      @Override
      public int maxRoutesPerService() {
        return maxRoutesPerService;
      }

      @Override
      public int maxRegexProgramSize() {
        return DEFAULT_MAX_REGEX_PROGRAM_SIZE;
      }

      @Override
      public UpstreamAddressPolicy upstreams() {
        return UpstreamAddressPolicy.DEFAULT;
      }
    };
  }

  /** Envoy's default limit on a regex's RE2 program ({@code re2.max_program_size.error_level}). */
  int DEFAULT_MAX_REGEX_PROGRAM_SIZE = 100;

  /** Names of the JWT providers a route's auth policy may name. */
  Set<String> jwtProviders();

  /** Routes one registration may declare, at most {@link RegistrationValidator#MAX_ROUTES}. */
  int maxRoutesPerService();

  /**
   * The largest RE2 program (estimated by {@link RegexProgramSize}) a path or header regex may
   * compile to.
   */
  int maxRegexProgramSize();

  /** Where instances may point. */
  UpstreamAddressPolicy upstreams();
}
