package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.signalbox.client.Routes;
import io.signalbox.config.GatewaySettings;
import io.signalbox.config.JwtProviderSpec;
import io.signalbox.registry.v1.AuthPolicy;
import io.signalbox.registry.v1.ClaimRequirement;
import io.signalbox.registry.v1.ClaimToHeader;
import io.signalbox.registry.v1.Instance;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.Route;
import io.signalbox.samples.EchoService;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.HttpProbe;
import io.signalbox.testing.LoopbackUpstreams;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * JWT authentication and claim authorization through a real Envoy: tokens signed here with keys
 * made for the run, verified by Envoy against the gateway settings' providers. One control plane
 * and one Envoy serve the class.
 *
 * <p>What Envoy 1.40 answers, as asserted below: no token, a bad signature, an expired token, a
 * token without {@code exp} or an unknown issuer are 401 with a {@code www-authenticate: Bearer
 * realm="<url>"} header (plus {@code error="invalid_token"} when a token was sent); a token for
 * another audience is 403 (the JWT filter's own choice); a valid token without a required scope or
 * claim is 403 from the RBAC filter ("RBAC: access denied").
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(EnvoyLogsOnFailure.class)
class JwtEndToEndTest {

  private static final Duration PROPAGATION = Duration.ofSeconds(10);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration LEASE = Duration.ofMinutes(5);

  private static final String RS_ISSUER = "https://rs.issuer.test/";
  private static final String ES_ISSUER = "https://es.issuer.test/";
  private static final String REMOTE_ISSUER = "https://remote.issuer.test/";
  private static final String AUDIENCE = "orders-api";

  /**
   * A remote JWKS over https that nothing listens on: only there to show Envoy accepts the TLS
   * cluster.
   */
  private static final URI UNREACHABLE_HTTPS_JWKS = URI.create("https://127.0.0.1:9/jwks");

  private final TestTokens rsTokens = TestTokens.rs256(RS_ISSUER, "rs-1");

  /** Same issuer and key id as {@link #rsTokens}, different key: its signatures must not verify. */
  private final TestTokens impostor = TestTokens.rs256(RS_ISSUER, "rs-1");

  private final TestTokens esTokens = TestTokens.es256(ES_ISSUER, "es-1");
  private final TestTokens remoteKeyA = TestTokens.rs256(REMOTE_ISSUER, "remote-a");
  private final TestTokens remoteKeyB = TestTokens.rs256(REMOTE_ISSUER, "remote-b");

  private JwksServer jwksServer;
  private GatewayFixture gateway;

  @BeforeAll
  void startGateway() {
    jwksServer = JwksServer.start(remoteKeyA.jwks());
    gateway =
        GatewayFixture.startWithSettings(
            EnvoyProcess.XdsMode.SOTW,
            settings ->
                settings
                    .jwtProvider(
                        JwtProviderSpec.builder("rs", RS_ISSUER)
                            .audiences(AUDIENCE)
                            .jwks(new JwtProviderSpec.InlineJwks(rsTokens.jwks()))
                            .build())
                    .jwtProvider(
                        JwtProviderSpec.builder("es", ES_ISSUER)
                            .anyAudience()
                            .jwks(new JwtProviderSpec.InlineJwks(esTokens.jwks()))
                            .build())
                    // The test's JWKS server speaks plain HTTP on loopback, with the provider's
                    // explicit consent.
                    .jwtProvider(
                        JwtProviderSpec.builder("remote", REMOTE_ISSUER)
                            .anyAudience()
                            .jwks(
                                new JwtProviderSpec.RemoteJwks(
                                    jwksServer.uri(),
                                    Duration.ofSeconds(1),
                                    Duration.ofSeconds(1),
                                    true))
                            .build())
                    .jwtProvider(
                        JwtProviderSpec.builder("unreachable", "https://unreachable.issuer.test/")
                            .anyAudience()
                            .jwks(
                                new JwtProviderSpec.RemoteJwks(
                                    UNREACHABLE_HTTPS_JWKS,
                                    Duration.ofMinutes(5),
                                    Duration.ofSeconds(1)))
                            .build()));

    // "orders": a service-wide requirement (RS256, scope orders:read, two forwarded claims), one
    // public route, and
    // an admin route whose own requirement asks for claims instead.
    EchoService orders = gateway.backend("orders", "orders-1");
    gateway
        .registryStub()
        .register(
            RegisterRequest.newBuilder()
                .setService("orders")
                .setInstance(
                    Instance.newBuilder()
                        .setId("orders-1")
                        .setHost("127.0.0.1")
                        .setPort(orders.port()))
                .setAuth(
                    AuthPolicy.newBuilder()
                        .setProvider("rs")
                        .addRequiredScopes("orders:read")
                        .addForwardClaims(
                            ClaimToHeader.newBuilder().setClaim("sub").setHeader("x-user-id"))
                        .addForwardClaims(
                            ClaimToHeader.newBuilder()
                                .setClaim("tenant.id")
                                .setHeader("x-tenant-id")))
                .addRoutes(Route.newBuilder().setPath(PathMatch.newBuilder().setPrefix("/orders")))
                .addRoutes(
                    Route.newBuilder()
                        .setPath(PathMatch.newBuilder().setExact("/orders/status"))
                        .setPublic(true))
                .addRoutes(
                    Route.newBuilder()
                        .setPath(PathMatch.newBuilder().setPrefix("/orders/admin"))
                        .setAuth(
                            AuthPolicy.newBuilder()
                                .setProvider("rs")
                                .addRequiredClaims(
                                    ClaimRequirement.newBuilder()
                                        .setName("role")
                                        .addValues("admin"))
                                .addRequiredClaims(
                                    ClaimRequirement.newBuilder()
                                        .setName("email_verified")
                                        .addValues("true"))))
                .addRoutes(
                    Route.newBuilder()
                        .setPath(PathMatch.newBuilder().setPrefix("/orders/bulk"))
                        .setAuth(
                            AuthPolicy.newBuilder()
                                .setProvider("rs")
                                .addRequiredClaims(
                                    ClaimRequirement.newBuilder().setName("level").addValues("2"))))
                .setLeaseTtl(protoDuration(LEASE))
                .build());
    register("signing", "/signing", AuthPolicy.newBuilder().setProvider("es"));
    register("keys", "/keys", AuthPolicy.newBuilder().setProvider("remote"));

    awaitStatus("/orders/1", Optional.of(validOrdersToken()), 200);
    awaitStatus("/signing", Optional.of(esTokens.sign(Map.of())), 200);
  }

  @AfterAll
  void stopGateway() {
    if (gateway != null) {
      gateway.close();
    }
    if (jwksServer != null) {
      jwksServer.close();
    }
  }

  @Test
  void aValidRs256TokenReachesTheBackendWithItsClaimsAsHeadersAndWithoutTheToken() {
    HttpProbe.Response response = get("/orders/42", Optional.of(validOrdersToken()));

    assertThat(response.status()).isEqualTo(200);
    JsonNode headers = backendHeaders(response);
    assertThat(headers.path("x-user-id").asText()).isEqualTo("alice");
    assertThat(headers.path("x-tenant-id").asText()).as("nested claim tenant.id").isEqualTo("t-7");
    assertThat(headers.has("authorization"))
        .as("forwardToken is off: Envoy strips the verified token")
        .isFalse();
  }

  @Test
  void aValidEs256TokenIsAccepted() {
    assertThat(get("/signing", Optional.of(esTokens.sign(Map.of("sub", "bob")))).status())
        .isEqualTo(200);
  }

  @Test
  void noTokenIs401WithABearerChallenge() {
    HttpProbe.Response response = get("/orders/42", Optional.empty());

    assertThat(response.status()).isEqualTo(401);
    assertThat(response.body()).isEqualTo("Jwt is missing");
    assertThat(response.headers().firstValue("www-authenticate"))
        .hasValue("Bearer realm=\"" + realm("/orders/42") + "\"");
  }

  @Test
  void aTokenSignedByAnotherKeyIs401() {
    String forged = impostor.sign(ordersClaims(), TestTokens.audience(AUDIENCE));

    HttpProbe.Response response = get("/orders/42", Optional.of(forged));

    assertThat(response.status()).isEqualTo(401);
    assertThat(response.body()).isEqualTo("Jwt verification fails");
    assertThat(response.headers().firstValue("www-authenticate"))
        .hasValue("Bearer realm=\"" + realm("/orders/42") + "\", error=\"invalid_token\"");
  }

  @Test
  void anExpiredTokenIs401() {
    String expired =
        rsTokens.sign(ordersClaims(), b -> TestTokens.expired().apply(b.audience(AUDIENCE)));

    HttpProbe.Response response = get("/orders/42", Optional.of(expired));

    assertThat(response.status()).isEqualTo(401);
    assertThat(response.body()).isEqualTo("Jwt is expired");
    assertThat(response.headers().firstValue("www-authenticate"))
        .get()
        .asString()
        .contains("error=\"invalid_token\"");
  }

  /**
   * A token without {@code exp} would stay valid for as long as its key does: the provider requires
   * one.
   */
  @Test
  void aTokenWithoutAnExpirationIs401() {
    String endless = rsTokens.sign(ordersClaims(), b -> b.audience(AUDIENCE).expirationTime(null));

    HttpProbe.Response response = get("/orders/42", Optional.of(endless));

    assertThat(response.status()).isEqualTo(401);
    assertThat(response.headers().firstValue("www-authenticate"))
        .get()
        .asString()
        .contains("error=\"invalid_token\"");
    assertThat(get("/orders/42", Optional.of(validOrdersToken())).status())
        .as("the same token with exp")
        .isEqualTo(200);
  }

  @Test
  void aTokenFromAnotherIssuerIs401() {
    String otherIssuer =
        rsTokens.sign(
            ordersClaims(),
            b -> TestTokens.issuer("https://elsewhere.test/").apply(b.audience(AUDIENCE)));

    HttpProbe.Response response = get("/orders/42", Optional.of(otherIssuer));

    assertThat(response.status()).isEqualTo(401);
    assertThat(response.body()).isEqualTo("Jwt issuer is not configured");
  }

  @Test
  void aTokenOfTheOtherProviderIs401OnThisRoute() {
    // A perfectly valid ES256 token, but the route requires provider "rs".
    HttpProbe.Response response = get("/orders/42", Optional.of(esTokens.sign(ordersClaims())));

    assertThat(response.status()).isEqualTo(401);
  }

  @Test
  void aTokenForAnotherAudienceIs403AsEnvoyReportsIt() {
    String otherAudience = rsTokens.sign(ordersClaims(), TestTokens.audience("billing-api"));

    HttpProbe.Response response = get("/orders/42", Optional.of(otherAudience));

    assertThat(response.status()).isEqualTo(403);
    assertThat(response.body()).isEqualTo("Audiences in Jwt are not allowed");
  }

  @Test
  void aValidTokenWithoutTheRequiredScopeIs403() {
    Map<String, Object> claims = new HashMap<>(ordersClaims());
    claims.put("scope", "orders:write profile");
    String token = rsTokens.sign(claims, TestTokens.audience(AUDIENCE));

    HttpProbe.Response response = get("/orders/42", Optional.of(token));

    assertThat(response.status()).isEqualTo(403);
    assertThat(response.body()).isEqualTo("RBAC: access denied");
  }

  @Test
  void aValidTokenWithoutAnyScopeIs403() {
    Map<String, Object> claims = new HashMap<>(ordersClaims());
    claims.remove("scope");

    assertThat(
            get("/orders/42", Optional.of(rsTokens.sign(claims, TestTokens.audience(AUDIENCE))))
                .status())
        .isEqualTo(403);
  }

  @Test
  void requiredClaimsMatchStringsBooleansAndListItems() {
    assertThat(adminStatus(Map.of("role", "admin", "email_verified", true)))
        .as("string and JSON boolean")
        .isEqualTo(200);
    assertThat(adminStatus(Map.of("role", List.of("dev", "admin"), "email_verified", "true")))
        .as("list containing the value, and the string \"true\"")
        .isEqualTo(200);
    assertThat(adminStatus(Map.of("role", "dev", "email_verified", true)))
        .as("another value")
        .isEqualTo(403);
    assertThat(adminStatus(Map.of("role", List.of("dev"), "email_verified", true)))
        .as("list without the value")
        .isEqualTo(403);
    assertThat(adminStatus(Map.of("role", "admin", "email_verified", false)))
        .as("false")
        .isEqualTo(403);
    assertThat(adminStatus(Map.of("role", "admin"))).as("claim missing").isEqualTo(403);
  }

  /** A required value that reads as a number matches the JSON number as well as the string. */
  @Test
  void aNumericRequiredClaimMatchesTheJsonNumberAndTheString() {
    assertThat(bulkStatus(2)).as("JSON number").isEqualTo(200);
    assertThat(bulkStatus("2")).as("string").isEqualTo(200);
    assertThat(bulkStatus(3)).as("another number").isEqualTo(403);
    assertThat(bulkStatus(2.5)).as("another, fractional number").isEqualTo(403);
  }

  private int bulkStatus(Object level) {
    Map<String, Object> claims = new HashMap<>(ordersClaims());
    claims.put("level", level);
    return get(
            "/orders/bulk/import",
            Optional.of(rsTokens.sign(claims, TestTokens.audience(AUDIENCE))))
        .status();
  }

  @Test
  void thePublicRouteOfAProtectedServiceNeedsNoToken() {
    assertThat(get("/orders/status", Optional.empty()).status()).isEqualTo(200);
    // Without a requirement the JWT filter does not look at a token at all, even a broken one.
    assertThat(get("/orders/status", Optional.of("not-a-jwt")).status()).isEqualTo(200);
  }

  @Test
  void aClientCannotSpoofAForwardedClaimHeader() {
    Map<String, String> spoofed = Map.of("x-user-id", "mallory", "x-tenant-id", "t-evil");

    // The token has sub and tenant.id: the client's values are replaced by the token's.
    HttpProbe.Response withClaims = get("/orders/42", Optional.of(validOrdersToken()), spoofed);
    assertThat(withClaims.status()).isEqualTo(200);
    assertThat(backendHeaders(withClaims).path("x-user-id").asText()).isEqualTo("alice");
    assertThat(backendHeaders(withClaims).path("x-tenant-id").asText()).isEqualTo("t-7");

    // The token lacks both claims: the client's headers are removed, and nothing (not even "") is
    // added.
    String withoutClaims =
        rsTokens.sign(Map.of("scope", "orders:read"), TestTokens.audience(AUDIENCE));
    HttpProbe.Response response = get("/orders/42", Optional.of(withoutClaims), spoofed);
    assertThat(response.status()).isEqualTo(200);
    assertThat(backendHeaders(response).has("x-user-id")).isFalse();
    assertThat(backendHeaders(response).has("x-tenant-id")).isFalse();
  }

  /**
   * The orders backends trust x-user-id because the service's policy fills it from tokens; a route
   * of the service that forwards no claim (the public one, the admin one with its own requirement)
   * must not let a client set it.
   */
  @Test
  void noRouteOfTheServiceLetsAClientSetAClaimHeader() {
    Map<String, String> spoofed = Map.of("x-user-id", "mallory", "x-tenant-id", "t-evil");

    HttpProbe.Response publicRoute = get("/orders/status", Optional.empty(), spoofed);
    assertThat(publicRoute.status()).isEqualTo(200);
    assertThat(backendHeaders(publicRoute).has("x-user-id")).isFalse();
    assertThat(backendHeaders(publicRoute).has("x-tenant-id")).isFalse();

    String admin =
        rsTokens.sign(
            Map.of("role", "admin", "email_verified", true), TestTokens.audience(AUDIENCE));
    HttpProbe.Response ownPolicyRoute = get("/orders/admin/x", Optional.of(admin), spoofed);
    assertThat(ownPolicyRoute.status()).isEqualTo(200);
    assertThat(backendHeaders(ownPolicyRoute).has("x-user-id")).isFalse();
    assertThat(backendHeaders(ownPolicyRoute).has("x-tenant-id")).isFalse();
  }

  @Test
  void aRotatedRemoteJwksIsPickedUpOnceTheCacheExpires() {
    String tokenA = remoteKeyA.sign(Map.of("sub", "carol"));
    String tokenB = remoteKeyB.sign(Map.of("sub", "carol"));
    awaitStatus("/keys", Optional.of(tokenA), 200);
    assertThat(get("/keys", Optional.of(tokenB)).status())
        .as("key B is not published yet")
        .isEqualTo(401);
    int fetchesBefore = jwksServer.fetches();

    jwksServer.publish(remoteKeyB.jwks());

    awaitStatus("/keys", Optional.of(tokenB), 200);
    assertThat(jwksServer.fetches()).isGreaterThan(fetchesBefore);
    // Each Envoy worker keeps its own JWKS cache; after one cache period every worker has fetched
    // the new keys.
    await()
        .atMost(PROPAGATION)
        .pollInterval(Duration.ofMillis(200))
        .until(() -> get("/keys", Optional.of(tokenA)).status() == 401);
  }

  @Test
  void envoyAcceptsTheWholeConfigurationIncludingAnHttpsJwksClusterAndUsesNoDeprecatedField() {
    String dump = gateway.envoy().configDump();

    assertThat(dump).contains("\"name\": \"jwks-unreachable\"").contains("ca-certificates.crt");
    assertThat(gateway.envoy().statValue("runtime.deprecated_feature_use")).isZero();
  }

  @Test
  void aRegistrationNamingAnUnknownProviderIsRejectedAndOthersKeepServing() {
    RegisterRequest unknownProvider =
        RegisterRequest.newBuilder()
            .setService("typo")
            .setInstance(Instance.newBuilder().setId("typo-1").setHost("127.0.0.1").setPort(8080))
            .addRoutes(
                Route.newBuilder()
                    .setPath(PathMatch.newBuilder().setPrefix("/typo"))
                    .setAuth(AuthPolicy.newBuilder().setProvider("rss")))
            .build();

    assertThatThrownBy(() -> gateway.registryStub().register(unknownProvider))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
              assertThat(e.getStatus().getDescription())
                  .startsWith("routes[0].auth.provider:")
                  .contains("'rss'");
            });

    assertThat(get("/orders/42", Optional.of(validOrdersToken())).status()).isEqualTo(200);
    // A registration made after the rejected one is served: had the rejected one been applied, it
    // would be by now.
    gateway.serve("after-typo", "after-typo-1", Routes.prefix("/after-typo").publicRoute());
    HttpProbe.awaitStatus(gateway.url("/after-typo"), 200, Duration.ofSeconds(10));
    assertThat(get("/typo", Optional.empty()).status())
        .as("nothing was routed for the rejected service")
        .isEqualTo(404);
  }

  /**
   * Over delta xDS too; and when the operator removes the provider, the route fails closed with
   * 503.
   */
  @Test
  void overDeltaXdsAndFailingClosedWhenTheProviderIsRemoved() {
    TestTokens tokens = TestTokens.es256("https://delta.issuer.test/", "delta-1");
    JwtProviderSpec provider =
        JwtProviderSpec.builder("delta", "https://delta.issuer.test/")
            .anyAudience()
            .jwks(new JwtProviderSpec.InlineJwks(tokens.jwks()))
            .build();
    try (GatewayFixture delta =
        GatewayFixture.startWithSettings(
            EnvoyProcess.XdsMode.DELTA, settings -> settings.jwtProvider(provider))) {
      EchoService backend = delta.backend("reports", "reports-1");
      delta
          .registryStub()
          .register(
              RegisterRequest.newBuilder()
                  .setService("reports")
                  .setInstance(
                      Instance.newBuilder()
                          .setId("reports-1")
                          .setHost("127.0.0.1")
                          .setPort(backend.port()))
                  .addRoutes(
                      Route.newBuilder()
                          .setPath(PathMatch.newBuilder().setPrefix("/reports"))
                          .setAuth(AuthPolicy.newBuilder().setProvider("delta")))
                  .setLeaseTtl(protoDuration(LEASE))
                  .build());
      String token = tokens.sign(Map.of("sub", "dave"));
      awaitStatus(delta, "/reports", Optional.of(token), 200);
      assertThat(get(delta, "/reports", Optional.empty(), Map.of()).status()).isEqualTo(401);

      delta
          .controlPlane()
          .updateSettings(
              LoopbackUpstreams.allowedIn(
                  GatewaySettings.plaintext("127.0.0.1", delta.gatewayPort())));

      HttpProbe.Response closed = awaitStatus(delta, "/reports", Optional.of(token), 503);
      assertThat(closed.body()).contains("'delta'");
      assertThat(get(delta, "/reports", Optional.empty(), Map.of()).status()).isEqualTo(503);
    }
  }

  /**
   * The realm Envoy names is the request's URL as Envoy saw it after the listener stripped the port
   * from the Host header (strip_any_host_port, so that virtual hosts match with or without a port).
   */
  private static String realm(String path) {
    return "http://127.0.0.1" + path;
  }

  private int adminStatus(Map<String, Object> extraClaims) {
    Map<String, Object> claims = new HashMap<>(ordersClaims());
    claims.putAll(extraClaims);
    return get(
            "/orders/admin/users",
            Optional.of(rsTokens.sign(claims, TestTokens.audience(AUDIENCE))))
        .status();
  }

  private static Map<String, Object> ordersClaims() {
    return Map.of(
        "sub", "alice", "scope", "orders:read orders:write", "tenant", Map.of("id", "t-7"));
  }

  private String validOrdersToken() {
    return rsTokens.sign(ordersClaims(), TestTokens.audience(AUDIENCE));
  }

  private void register(String service, String prefix, AuthPolicy.Builder auth) {
    EchoService backend = gateway.backend(service, service + "-1");
    gateway
        .registryStub()
        .register(
            RegisterRequest.newBuilder()
                .setService(service)
                .setInstance(
                    Instance.newBuilder()
                        .setId(service + "-1")
                        .setHost("127.0.0.1")
                        .setPort(backend.port()))
                .addRoutes(
                    Route.newBuilder()
                        .setPath(PathMatch.newBuilder().setPrefix(prefix))
                        .setAuth(auth))
                .setLeaseTtl(protoDuration(LEASE))
                .build());
  }

  private HttpProbe.Response get(String path, Optional<String> token) {
    return get(gateway, path, token, Map.of());
  }

  private HttpProbe.Response get(String path, Optional<String> token, Map<String, String> headers) {
    return get(gateway, path, token, headers);
  }

  private static HttpProbe.Response get(
      GatewayFixture fixture, String path, Optional<String> token, Map<String, String> headers) {
    Map<String, String> all = new HashMap<>(headers);
    token.ifPresent(t -> all.put("authorization", "Bearer " + t));
    return HttpProbe.get(fixture.url(path), all);
  }

  private void awaitStatus(String path, Optional<String> token, int status) {
    awaitStatus(gateway, path, token, status);
  }

  /**
   * Like {@link HttpProbe#awaitStatus}, but a timeout names the path only: tokens stay out of test
   * output.
   */
  private static HttpProbe.Response awaitStatus(
      GatewayFixture fixture, String path, Optional<String> token, int status) {
    return await(
            "GET " + path + (token.isPresent() ? " with a token" : "") + " to answer " + status)
        .atMost(PROPAGATION)
        .pollDelay(Duration.ZERO)
        .pollInterval(Duration.ofMillis(100))
        .ignoreExceptions()
        .until(() -> get(fixture, path, token, Map.of()), response -> response.status() == status);
  }

  private static JsonNode backendHeaders(HttpProbe.Response response) {
    try {
      return JSON.readTree(response.body()).path("headers");
    } catch (IOException e) {
      throw new AssertionError(
          "the backend did not answer with its JSON echo: " + response.body(), e);
    }
  }

  private static com.google.protobuf.Duration protoDuration(Duration duration) {
    return com.google.protobuf.Duration.newBuilder().setSeconds(duration.getSeconds()).build();
  }
}
