package io.signalbox.translate;

import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent;
import io.envoyproxy.envoy.config.route.v3.DirectResponseAction;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatchAndSubstitute;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.signalbox.model.RouteAction;

/**
 * What a route does, rendered: a forwarding route's regex rewrite, WebSocket upgrade and mirror on
 * Envoy's route action; a redirect or a direct response in place of the route action.
 */
final class RouteActionTranslator {

  private RouteActionTranslator() {}

  /** Adds a forwarding route's upgrade and mirror to Envoy's route action. */
  static void forward(
      RouteAction action, io.envoyproxy.envoy.config.route.v3.RouteAction.Builder envoyAction) {
    if (!(action instanceof RouteAction.Forward forward)) {
      return;
    }
    forward
        .regexRewrite()
        .ifPresent(
            rewrite ->
                envoyAction.setRegexRewrite(
                    RegexMatchAndSubstitute.newBuilder()
                        .setPattern(RegexMatcher.newBuilder().setRegex(rewrite.pattern()))
                        .setSubstitution(rewrite.substitution())));
    forward.idleTimeout().ifPresent(idle -> envoyAction.setIdleTimeout(EnvoyProtos.duration(idle)));
    if (forward.websocket()) {
      envoyAction.addUpgradeConfigs(
          io.envoyproxy.envoy.config.route.v3.RouteAction.UpgradeConfig.newBuilder()
              .setUpgradeType("websocket"));
    }
    forward
        .mirror()
        .ifPresent(
            mirror ->
                envoyAction.addRequestMirrorPolicies(
                    io.envoyproxy.envoy.config.route.v3.RouteAction.RequestMirrorPolicy.newBuilder()
                        .setCluster(XdsNames.serviceCluster(mirror.service()))
                        .setRuntimeFraction(
                            RuntimeFractionalPercent.newBuilder()
                                .setDefaultValue(
                                    FractionalPercent.newBuilder()
                                        .setNumerator(mirror.percent())
                                        .setDenominator(
                                            FractionalPercent.DenominatorType.HUNDRED)))));
  }

  /**
   * Replaces the forwarding action of a route that answers by itself. Its policies stay: they sit
   * in the route's per-filter configuration, so a token is still checked before a redirect or a
   * fixed answer is given.
   */
  static void answer(RouteAction action, Route.Builder route) {
    if (action instanceof RouteAction.Redirect redirect) {
      route.setRedirect(redirect(redirect));
    } else if (action instanceof RouteAction.DirectResponse response) {
      route.setDirectResponse(
          DirectResponseAction.newBuilder()
              .setStatus(response.status())
              .setBody(DataSource.newBuilder().setInlineString(response.body())));
    }
  }

  private static RedirectAction redirect(RouteAction.Redirect redirect) {
    RedirectAction.Builder envoy = RedirectAction.newBuilder();
    redirect.scheme().ifPresent(envoy::setSchemeRedirect);
    redirect.host().ifPresent(envoy::setHostRedirect);
    if (redirect.port() != 0) {
      envoy.setPortRedirect(redirect.port());
    }
    redirect.path().ifPresent(envoy::setPathRedirect);
    envoy.setResponseCode(
        switch (redirect.code()) {
          case 302 -> RedirectAction.RedirectResponseCode.FOUND;
          case 303 -> RedirectAction.RedirectResponseCode.SEE_OTHER;
          case 307 -> RedirectAction.RedirectResponseCode.TEMPORARY_REDIRECT;
          case 308 -> RedirectAction.RedirectResponseCode.PERMANENT_REDIRECT;
          default -> RedirectAction.RedirectResponseCode.MOVED_PERMANENTLY;
        });
    envoy.setStripQuery(redirect.stripQuery());
    return envoy.build();
  }
}
