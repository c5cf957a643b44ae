package io.signalbox.translate;

import java.util.List;

/**
 * The policy filters of every HTTP connection manager that enforces a service's policies (the
 * edge's listeners, a sidecar's inbound listener), in chain order: answer CORS preflights (they
 * carry no token), authenticate, then authorize, then count (only requests that may pass); then,
 * for the requests let through, take in the body up to its limit, inject faults, and compress the
 * response. The translators are stateless, so one list serves every translation.
 */
final class HttpFilterChain {

  static final List<HttpFilterTranslator> IN_ORDER =
      List.of(
          new CorsFilterTranslator(),
          new JwtAuthnFilterTranslator(),
          new ClaimAuthorizationFilterTranslator(),
          new LocalRateLimitFilterTranslator(),
          new GlobalRateLimitFilterTranslator(),
          new RequestBodyLimitFilterTranslator(),
          new FaultFilterTranslator(),
          new CompressionFilterTranslator());

  /**
   * The policies among them (JWT authentication, claim authorization, local and global rate
   * limits), which a sidecar's inbound listener enforces.
   */
  static final List<HttpFilterTranslator> POLICIES = IN_ORDER.subList(1, 5);

  private HttpFilterChain() {}
}
