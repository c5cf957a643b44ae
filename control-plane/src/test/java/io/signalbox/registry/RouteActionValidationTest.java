package io.signalbox.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.util.Durations;
import io.signalbox.model.RouteAction;
import io.signalbox.registry.v1.DirectResponse;
import io.signalbox.registry.v1.Fault;
import io.signalbox.registry.v1.Mirror;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.RateLimitPolicy;
import io.signalbox.registry.v1.Redirect;
import io.signalbox.registry.v1.RegexRewrite;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.Route;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * What a route does with a request (forward with WebSocket or mirror, redirect, direct response):
 * what the validator maps it to, and which field it names when it refuses.
 */
class RouteActionValidationTest {

  private final RegistrationValidator validator =
      new RegistrationValidator(host -> Optional.of("10.0.0.1"));

  private static Route.Builder route() {
    return Route.newBuilder().setPath(PathMatch.newBuilder().setPrefix("/site"));
  }

  private RouteAction actionOf(Route.Builder route) {
    return validator.validate(request(route).build()).routes().get(0).action();
  }

  private static RegisterRequest.Builder request(Route.Builder route) {
    return RegisterRequest.newBuilder()
        .setService("site")
        .setInstance(
            io.signalbox.registry.v1.Instance.newBuilder()
                .setId("site-1")
                .setHost("10.0.0.7")
                .setPort(8080))
        .addRoutes(route);
  }

  private void assertRejected(Route.Builder route, String field) {
    assertThatThrownBy(() -> validator.validate(request(route).build()))
        .isInstanceOf(InvalidFieldException.class)
        .satisfies(e -> assertThat(((InvalidFieldException) e).field()).isEqualTo(field))
        .hasMessageStartingWith(field + ": ");
  }

  @Test
  void aRouteForwardsByDefault() {
    assertThat(actionOf(route())).isEqualTo(RouteAction.FORWARD);
  }

  @Test
  void aRedirectKeepsWhatItDoesNotChangeAndDefaultsTo301() {
    assertThat(actionOf(route().setRedirect(Redirect.newBuilder().setScheme("https"))))
        .isEqualTo(
            new RouteAction.Redirect(
                Optional.of("https"), Optional.empty(), 0, Optional.empty(), 301, false));
  }

  @Test
  void aRedirectThatChangesNothingIsRefused() {
    assertRejected(route().setRedirect(Redirect.newBuilder().setCode(302)), "routes[0].redirect");
  }

  @Test
  void aRedirectNamesItsBadPart() {
    assertRejected(
        route().setRedirect(Redirect.newBuilder().setScheme("ftp")), "routes[0].redirect.scheme");
    assertRejected(
        route().setRedirect(Redirect.newBuilder().setHost("*.example.com")),
        "routes[0].redirect.host");
    assertRejected(
        route().setRedirect(Redirect.newBuilder().setPort(70_000)), "routes[0].redirect.port");
    assertRejected(
        route().setRedirect(Redirect.newBuilder().setPath("new")), "routes[0].redirect.path");
    assertRejected(
        route().setRedirect(Redirect.newBuilder().setPath("/new").setCode(300)),
        "routes[0].redirect.code");
  }

  @Test
  void aRouteThatAnswersByItselfTakesNothingMeantForForwarding() {
    Redirect.Builder https = Redirect.newBuilder().setScheme("https");
    assertRejected(route().setRedirect(https).setPrefixRewrite("/"), "routes[0].prefix_rewrite");
    assertRejected(
        route().setRedirect(https).setTimeout(Durations.fromSeconds(1)), "routes[0].timeout");
    assertRejected(route().setRedirect(https).setWebsocket(true), "routes[0].websocket");
    assertRejected(
        route()
            .setDirectResponse(DirectResponse.newBuilder().setStatus(410))
            .setMirror(Mirror.newBuilder().setService("other")),
        "routes[0].mirror");
  }

  @Test
  void aRouteThatAnswersByItselfTakesALocalLimitButNotAGlobalOneWhichCountsOnlyForwarding() {
    RateLimitPolicy.Builder local =
        RateLimitPolicy.newBuilder().setRequests(5).setUnit(RateLimitPolicy.Unit.MINUTE);
    RateLimitPolicy.Builder global = local.clone().setScope(RateLimitPolicy.Scope.GLOBAL);
    Redirect.Builder https = Redirect.newBuilder().setScheme("https");
    DirectResponse.Builder gone = DirectResponse.newBuilder().setStatus(410);

    assertThat(actionOf(route().setRedirect(https).setRateLimit(local)))
        .isInstanceOf(RouteAction.Redirect.class);
    assertThat(actionOf(route().setDirectResponse(gone).setRateLimit(local)))
        .isInstanceOf(RouteAction.DirectResponse.class);
    assertThat(actionOf(route().setRateLimit(global))).isEqualTo(RouteAction.FORWARD);
    assertRejected(route().setRedirect(https).setRateLimit(global), "routes[0].rate_limit");
    assertRejected(route().setDirectResponse(gone).setRateLimit(global), "routes[0].rate_limit");
  }

  @Test
  void aDirectResponseIsBoundedInStatusAndBody() {
    assertThat(
            actionOf(
                route()
                    .setDirectResponse(DirectResponse.newBuilder().setStatus(410).setBody("gone"))))
        .isEqualTo(new RouteAction.DirectResponse(410, "gone"));
    assertRejected(
        route().setDirectResponse(DirectResponse.newBuilder().setStatus(99)),
        "routes[0].direct_response.status");
    assertRejected(
        route()
            .setDirectResponse(
                DirectResponse.newBuilder().setStatus(200).setBody("x".repeat(4097))),
        "routes[0].direct_response.body");
  }

  @Test
  void aMirrorGoesToAnotherServiceWithAShareOfTheRequests() {
    assertThat(actionOf(route().setMirror(Mirror.newBuilder().setService("site-next"))))
        .isEqualTo(
            RouteAction.Forward.builder()
                .mirror(Optional.of(new RouteAction.Mirror("site-next", 100)))
                .build());
    assertRejected(
        route().setMirror(Mirror.newBuilder().setService("site")), "routes[0].mirror.service");
    assertRejected(
        route().setMirror(Mirror.newBuilder().setService("Not A Service")),
        "routes[0].mirror.service");
    assertRejected(
        route().setMirror(Mirror.newBuilder().setService("next").setPercent(101)),
        "routes[0].mirror.percent");
  }

  @Test
  void aWebSocketRouteWithoutATimeoutHasNone() {
    var spec = validator.validate(request(route().setWebsocket(true)).build()).routes().get(0);
    assertThat(spec.action()).isEqualTo(RouteAction.Forward.builder().websocket(true).build());
    assertThat(spec.timeout()).contains(Duration.ZERO);
  }

  @Test
  void aRegexRewriteIsCheckedLikeAPathRegexAndExcludesAPrefixRewrite() {
    RegexRewrite.Builder items =
        RegexRewrite.newBuilder().setPattern("^/site/([0-9]+)$").setSubstitution("/items/\\1");
    assertThat(actionOf(route().setRegexRewrite(items)))
        .isEqualTo(
            RouteAction.Forward.builder()
                .regexRewrite(
                    Optional.of(new RouteAction.RegexRewrite("^/site/([0-9]+)$", "/items/\\1")))
                .build());
    assertRejected(route().setRegexRewrite(items).setPrefixRewrite("/"), "routes[0].regex_rewrite");
    assertRejected(
        route().setRegexRewrite(items.clone().setPattern("(?=lookahead)")),
        "routes[0].regex_rewrite.pattern");
    assertRejected(
        route().setRegexRewrite(items.clone().setPattern("(a{100}){100}")),
        "routes[0].regex_rewrite.pattern");
    assertRejected(
        route().setRegexRewrite(items.clone().setSubstitution("/items?id=\\1")),
        "routes[0].regex_rewrite.substitution");
  }

  @Test
  void aRegexRewriteNamesOnlyGroupsItsPatternHas() {
    RegexRewrite.Builder items =
        RegexRewrite.newBuilder().setPattern("^/site/([0-9]+)$").setSubstitution("/items/\\2");

    assertThatThrownBy(() -> validator.validate(request(route().setRegexRewrite(items)).build()))
        .isInstanceOf(InvalidFieldException.class)
        .hasMessage(
            "routes[0].regex_rewrite.substitution: names group \\2, but the pattern has 1 group");
    assertThat(actionOf(route().setRegexRewrite(items.clone().setSubstitution("/items/\\0\\1"))))
        .as("group 0 is the whole match")
        .isNotNull();
  }

  @Test
  void aFaultDelaysOrAbortsABoundedShareOfRequests() {
    assertThat(actionOf(route().setFault(Fault.newBuilder().setAbortStatus(503))))
        .isEqualTo(
            RouteAction.Forward.builder()
                .fault(Optional.of(new RouteAction.Fault(Optional.empty(), 100, 503, 100)))
                .build());
    assertRejected(route().setFault(Fault.newBuilder()), "routes[0].fault");
    assertRejected(
        route().setFault(Fault.newBuilder().setAbortStatus(600)), "routes[0].fault.abort_status");
    assertRejected(
        route().setFault(Fault.newBuilder().setDelay(Durations.fromSeconds(61))),
        "routes[0].fault.delay");
    assertRejected(
        route().setFault(Fault.newBuilder().setAbortStatus(503).setAbortPercent(101)),
        "routes[0].fault.abort_percent");
    assertRejected(
        route().setFault(Fault.newBuilder().setAbortStatus(503).setDelayPercent(10)),
        "routes[0].fault.delay_percent");
  }

  @Test
  void aBodyLimitIsBoundedBecauseEnvoyHoldsTheBody() {
    assertThat(actionOf(route().setMaxRequestBytes(1024).setCompress(true)))
        .isEqualTo(RouteAction.Forward.builder().maxRequestBytes(1024).compress(true).build());
    assertRejected(route().setMaxRequestBytes(16 * 1024 * 1024 + 1), "routes[0].max_request_bytes");
  }

  @Test
  void aBodyLimitDoesNotGoWithWebSocketsWhoseUpgradeHasNoBodyToWaitFor() {
    assertRejected(
        route().setWebsocket(true).setMaxRequestBytes(1024), "routes[0].max_request_bytes");
  }

  @Test
  void shapingIsForForwardedRequestsOnly() {
    Redirect.Builder https = Redirect.newBuilder().setScheme("https");
    assertRejected(route().setRedirect(https).setCompress(true), "routes[0].compress");
    assertRejected(
        route().setRedirect(https).setFault(Fault.newBuilder().setAbortStatus(503)),
        "routes[0].fault");
    assertRejected(
        route()
            .setDirectResponse(DirectResponse.newBuilder().setStatus(410))
            .setMaxRequestBytes(10),
        "routes[0].max_request_bytes");
  }
}
