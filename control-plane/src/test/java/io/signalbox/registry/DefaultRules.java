package io.signalbox.registry;

import java.util.Set;

/**
 * The rules of {@link RegistrationRules#DEFAULT} as a class: a test makes an anonymous subclass
 * that overrides only what it bounds (the operator's retries, timeouts, address policy, client
 * certificates).
 */
class DefaultRules implements RegistrationRules {

  @Override
  public Set<String> jwtProviders() {
    return Set.of();
  }

  @Override
  public int maxRoutesPerService() {
    return RegistrationValidator.MAX_ROUTES;
  }

  @Override
  public int maxRegexProgramSize() {
    return DEFAULT_MAX_REGEX_PROGRAM_SIZE;
  }

  @Override
  public UpstreamAddressPolicy upstreams() {
    return UpstreamAddressPolicy.DEFAULT;
  }
}
