package io.signalbox.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.util.Durations;
import io.signalbox.model.HeaderMatch;
import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RouteSpec;
import io.signalbox.registry.v1.HeaderMatch.Builder;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.Route;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What {@link RegistrationValidator} accepts, what it maps each field to, and which field it names
 * when it refuses.
 */
class RegistrationValidatorTest {

  /** Every host resolves to one fixed address: no test depends on DNS. */
  private static final HostResolver RESOLVES_EVERYTHING = host -> Optional.of("10.0.0.1");

  private final RegistrationValidator validator = new RegistrationValidator(RESOLVES_EVERYTHING);

  private static io.signalbox.registry.v1.Instance.Builder instance() {
    return io.signalbox.registry.v1.Instance.newBuilder()
        .setId("orders-1")
        .setHost("orders.internal")
        .setPort(8080);
  }

  private static Route.Builder prefixRoute(String prefix) {
    return Route.newBuilder()
        .setPath(io.signalbox.registry.v1.PathMatch.newBuilder().setPrefix(prefix));
  }

  private static RegisterRequest.Builder request() {
    return RegisterRequest.newBuilder()
        .setService("orders")
        .setInstance(instance())
        .addRoutes(prefixRoute("/orders"));
  }

  private static Builder header(String name) {
    return io.signalbox.registry.v1.HeaderMatch.newBuilder().setName(name);
  }

  private AbstractThrowableAssert<?, ? extends Throwable> assertRejected(
      RegisterRequest.Builder request, String field) {
    return assertThatThrownBy(() -> validator.validate(request.build()))
        .isInstanceOf(InvalidFieldException.class)
        .satisfies(e -> assertThat(((InvalidFieldException) e).field()).isEqualTo(field))
        .hasMessageStartingWith(field + ": ");
  }

  @Nested
  class AValidRequest {

    @Test
    void passesAndMapsTheInstance() {
      Registration registration =
          validator.validate(
              request()
                  .setInstance(
                      instance()
                          .setZone("eu-west-1a")
                          .setWeight(7)
                          .putMetadata("version", "1.2.3")
                          .putMetadata("canary", "true"))
                  .build());

      assertThat(registration.service()).isEqualTo("orders");
      assertThat(registration.instance())
          .isEqualTo(
              new Instance(
                  "orders-1",
                  "orders.internal",
                  "10.0.0.1",
                  8080,
                  "eu-west-1a",
                  7,
                  Map.of("version", "1.2.3", "canary", "true")));
    }

    @Test
    void mapsTheUpstreamProtocolWithHttp1WhenUnset() {
      assertThat(validator.validate(request().build()).protocol())
          .isEqualTo(io.signalbox.model.UpstreamProtocol.HTTP1);
      assertThat(
              validator
                  .validate(
                      request()
                          .setUpstreamProtocol(io.signalbox.registry.v1.UpstreamProtocol.GRPC)
                          .build())
                  .protocol())
          .isEqualTo(io.signalbox.model.UpstreamProtocol.GRPC);
      assertThat(
              validator
                  .validate(
                      request()
                          .setUpstreamProtocol(io.signalbox.registry.v1.UpstreamProtocol.HTTP2)
                          .build())
                  .protocol())
          .isEqualTo(io.signalbox.model.UpstreamProtocol.HTTP2);
    }

    @Test
    void keepsTheRegisteredHostAndConnectsToTheResolvedAddress() {
      RegistrationValidator resolving =
          new RegistrationValidator(
              host -> host.equals("orders.internal") ? Optional.of("192.0.2.7") : Optional.empty());

      Instance instance = resolving.validate(request().build()).instance();

      assertThat(instance.host()).isEqualTo("orders.internal");
      assertThat(instance.address()).isEqualTo("192.0.2.7");
    }

    @Test
    void givesAnInstanceWithoutWeightTheDefaultWeightOfOne() {
      Instance instance = validator.validate(request().build()).instance();

      assertThat(instance.weight()).isEqualTo(1);
      assertThat(instance.zone()).isEmpty();
      assertThat(instance.metadata()).isEmpty();
    }

    @Test
    void acceptsAnIpLiteralAsHost() {
      assertThat(
              validator
                  .validate(request().setInstance(instance().setHost("2001:db8::1")).build())
                  .instance()
                  .host())
          .isEqualTo("2001:db8::1");
    }

    @Test
    void mapsPrefixExactAndRegexPathMatches() {
      Registration registration =
          validator.validate(
              request()
                  .clearRoutes()
                  .addRoutes(prefixRoute("/orders"))
                  .addRoutes(
                      Route.newBuilder()
                          .setPath(
                              io.signalbox.registry.v1.PathMatch.newBuilder().setExact("/health")))
                  .addRoutes(
                      Route.newBuilder()
                          .setPath(
                              io.signalbox.registry.v1.PathMatch.newBuilder()
                                  .setRegex("/orders/[0-9]+/items")))
                  .build());

      assertThat(registration.routes())
          .extracting(route -> route.match().path())
          .containsExactly(
              PathMatch.prefix("/orders"),
              PathMatch.exact("/health"),
              PathMatch.regex("/orders/[0-9]+/items"));
    }

    @Test
    void mapsHostsHeadersMethodsRewriteAndTimeout() {
      Registration registration =
          validator.validate(
              request()
                  .clearRoutes()
                  .addRoutes(
                      prefixRoute("/orders")
                          .addHosts("api.example.com")
                          .addHosts("*.example.org")
                          .addHeaders(header("x-tenant").setExact("acme"))
                          .addHeaders(header("x-trace").setPrefix("abc"))
                          .addHeaders(header("x-version").setRegex("v[0-9]+"))
                          .addHeaders(header("x-canary").setPresent(true))
                          .addHeaders(header("x-debug").setPresent(false))
                          .addHeaders(header("x-internal").setExact("yes").setInvert(true))
                          .addMethods("POST")
                          .addMethods("GET")
                          .setPrefixRewrite("/v2/orders")
                          .setTimeout(Durations.fromMillis(2500)))
                  .build());

      RouteSpec expected =
          RouteSpec.builder(PathMatch.prefix("/orders"))
              .host("api.example.com")
              .host("*.example.org")
              .header(HeaderMatch.exact("x-tenant", "acme"))
              .header(new HeaderMatch("x-trace", HeaderMatch.Kind.PREFIX, "abc", false))
              .header(new HeaderMatch("x-version", HeaderMatch.Kind.REGEX, "v[0-9]+", false))
              .header(new HeaderMatch("x-canary", HeaderMatch.Kind.PRESENT, "", false))
              .header(new HeaderMatch("x-debug", HeaderMatch.Kind.ABSENT, "", false))
              .header(new HeaderMatch("x-internal", HeaderMatch.Kind.EXACT, "yes", true))
              .method("GET")
              .method("POST")
              .prefixRewrite("/v2/orders")
              .timeout(Duration.ofMillis(2500))
              .build();
      assertThat(registration.routes()).containsExactly(expected);
    }

    @Test
    void acceptsAZeroTimeoutWhichDisablesIt() {
      RouteSpec route =
          validator
              .validate(
                  request()
                      .clearRoutes()
                      .addRoutes(prefixRoute("/orders").setTimeout(Durations.ZERO))
                      .build())
              .routes()
              .get(0);

      assertThat(route.timeout()).contains(Duration.ZERO);
    }

    @Test
    void leavesAnUnsetTimeoutAndRewriteEmpty() {
      RouteSpec route = validator.validate(request().build()).routes().get(0);

      assertThat(route.timeout()).isEmpty();
      assertThat(route.prefixRewrite()).isEmpty();
      assertThat(route.hosts()).isEmpty();
    }

    @Test
    void acceptsARegistrationWithoutRoutes() {
      assertThat(validator.validate(request().clearRoutes().build()).routes()).isEmpty();
    }

    @Test
    void acceptsExactlyOneHundredRoutes() {
      RegisterRequest.Builder request = request().clearRoutes();
      for (int i = 0; i < RegistrationValidator.MAX_ROUTES; i++) {
        request.addRoutes(prefixRoute("/r" + i));
      }

      assertThat(validator.validate(request.build()).routes()).hasSize(100);
    }

    @Test
    void acceptsTheSamePathOnDifferentHosts() {
      assertThat(
              validator
                  .validate(
                      request()
                          .clearRoutes()
                          .addRoutes(prefixRoute("/orders").addHosts("a.example.com"))
                          .addRoutes(prefixRoute("/orders").addHosts("b.example.com"))
                          .build())
                  .routes())
          .hasSize(2);
    }
  }

  @Nested
  class LeaseTtl {

    @Test
    void isEmptyWhenUnsetOrZeroSoTheStoreAppliesItsDefault() {
      assertThat(RegistrationValidator.requestedTtl(request().build())).isEmpty();
      assertThat(RegistrationValidator.requestedTtl(request().setLeaseTtl(Durations.ZERO).build()))
          .isEmpty();
    }

    @Test
    void isTheRequestedDurationOtherwise() {
      assertThat(
              RegistrationValidator.requestedTtl(
                  request().setLeaseTtl(Durations.fromSeconds(30)).build()))
          .contains(Duration.ofSeconds(30));
    }

    @Test
    void rejectsAnUpstreamProtocolItDoesNotKnow() {
      assertRejected(request().setUpstreamProtocolValue(99), "upstream_protocol")
          .hasMessageContaining("value 99");
    }

    @Test
    void rejectsANegativeTtl() {
      assertRejected(request().setLeaseTtl(Durations.fromSeconds(-1)), "lease_ttl");
    }
  }

  @Nested
  class TheService {

    @Test
    void isRequired() {
      assertRejected(request().setService(""), "service").hasMessageContaining("required");
    }

    @Test
    void mayNotBeLongerThan63Characters() {
      assertRejected(request().setService("a".repeat(64)), "service").hasMessageContaining("63");
    }

    @Test
    void mayBeExactly63Characters() {
      assertThat(validator.validate(request().setService("a".repeat(63)).build()).service())
          .hasSize(63);
    }

    @ParameterizedTest
    @ValueSource(
        strings = {"Orders", "orders_v2", "1orders", "orders-", "-orders", "or ders", "orders.svc"})
    void mustBeALowercaseDnsLabel(String service) {
      assertRejected(request().setService(service), "service");
    }
  }

  @Nested
  class SidecarMode {

    @Test
    void anInstanceBehindASidecarNamesItsApplicationPort() {
      Registration registration =
          validator.validate(request().setInstance(instance().setApplicationPort(8081)).build());

      assertThat(registration.instance().applicationPort()).isEqualTo(8081);
      assertThat(registration.instance().hasSidecar()).isTrue();
    }

    @Test
    void rejectsAnApplicationPortOutOfRange() {
      assertRejected(
              request().setInstance(instance().setApplicationPort(65536)),
              "instance.application_port")
          .hasMessageContaining("65536 is out of range 1-65535");
    }

    @Test
    void rejectsAnApplicationPortThatIsTheSidecarsOwn() {
      assertRejected(
              request().setInstance(instance().setApplicationPort(8080)),
              "instance.application_port")
          .hasMessageContaining("must differ from instance.port");
    }

    @Test
    void allowedCallersAreServiceNamesOrSpiffeIds() {
      Registration registration =
          validator.validate(
              request()
                  .addAllowedCallers("users")
                  .addAllowedCallers("spiffe://signalbox.local/envoy/edge")
                  .build());

      assertThat(registration.mesh().allowedCallers())
          .containsExactly("users", "spiffe://signalbox.local/envoy/edge");
    }

    @ParameterizedTest
    @ValueSource(strings = {"Users", "spiffe://", "spiffe://domain", "http://x/y", "a b"})
    void rejectsACallerThatIsNeither(String caller) {
      assertRejected(
              request().addAllowedCallers("users").addAllowedCallers(caller), "allowed_callers[1]")
          .hasMessageContaining("is not a service name or a SPIFFE ID");
    }

    @Test
    void callsNameServices() {
      assertThat(
              validator
                  .validate(request().addCalls("users").addCalls("billing").build())
                  .mesh()
                  .calls())
          .containsExactly("users", "billing");
      assertRejected(request().addCalls("users").addCalls("Users!"), "calls[1]")
          .hasMessageContaining("is not a service name");
      assertRejected(request().addCalls("users").addCalls("users"), "calls[1]")
          .hasMessageContaining("listed twice");
    }

    @Test
    void rejectsACallerListedTwiceAndMoreThan32() {
      assertRejected(
          request().addAllowedCallers("users").addAllowedCallers("users"), "allowed_callers[1]");
      RegisterRequest.Builder many = request();
      for (int i = 0; i < 33; i++) {
        many.addAllowedCallers("caller-" + i);
      }
      assertRejected(many, "allowed_callers").hasMessageContaining("more than 32");
    }
  }

  @Nested
  class TheInstance {

    @Test
    void isRequired() {
      assertRejected(request().clearInstance(), "instance");
    }

    @Test
    void needsAnId() {
      assertRejected(request().setInstance(instance().setId("")), "instance.id");
    }

    @ParameterizedTest
    @ValueSource(strings = {"has space", "slash/id", "ünïcode"})
    void needsAnIdOfAllowedCharacters(String id) {
      assertRejected(request().setInstance(instance().setId(id)), "instance.id");
    }

    @Test
    void needsAnIdOfAtMost128Characters() {
      assertRejected(request().setInstance(instance().setId("i".repeat(129))), "instance.id");
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 65536, 70000})
    void rejectsAPortOutOfRange(int port) {
      assertRejected(request().setInstance(instance().setPort(port)), "instance.port")
          .hasMessageContaining(port + " is out of range");
    }

    @Test
    void rejectsAPortThatIsNegativeAsAJavaInt() {
      // uint32 4294967295 arrives as -1.
      assertRejected(request().setInstance(instance().setPort(-1)), "instance.port");
    }

    @Test
    void needsAHost() {
      assertRejected(request().setInstance(instance().setHost("")), "instance.host");
    }

    @ParameterizedTest
    @ValueSource(strings = {"not a host!", "orders.internal.", "http://orders", "-orders.internal"})
    void rejectsAHostThatIsNeitherAnIpNorADnsName(String host) {
      assertRejected(request().setInstance(instance().setHost(host)), "instance.host")
          .hasMessageContaining("neither an IP address nor a DNS name");
    }

    @Test
    void rejectsAHostThatDoesNotResolve() {
      RegistrationValidator nothingResolves = new RegistrationValidator(host -> Optional.empty());

      assertThatThrownBy(() -> nothingResolves.validate(request().build()))
          .isInstanceOfSatisfying(
              InvalidFieldException.class, e -> assertThat(e.field()).isEqualTo("instance.host"))
          .hasMessageContaining("'orders.internal' does not resolve");
    }

    @Test
    void rejectsAZoneWithSpaces() {
      assertRejected(request().setInstance(instance().setZone("eu west")), "instance.zone");
    }

    @Test
    void rejectsAWeightAbove128() {
      assertRejected(request().setInstance(instance().setWeight(129)), "instance.weight");
    }

    @Test
    void rejectsAWeightAbove128EvenWhenItIsNegativeAsAJavaInt() {
      // uint32 4294967295 arrives as -1.
      assertRejected(request().setInstance(instance().setWeight(-1)), "instance.weight");
    }

    @Test
    void rejectsMoreThan32MetadataEntries() {
      io.signalbox.registry.v1.Instance.Builder instance = instance();
      for (int i = 0; i < 33; i++) {
        instance.putMetadata("k" + i, "v");
      }
      assertRejected(request().setInstance(instance), "instance.metadata");
    }

    @Test
    void rejectsAnInvalidMetadataKey() {
      assertRejected(
              request().setInstance(instance().putMetadata("bad key", "v")), "instance.metadata")
          .hasMessageContaining("'bad key'");
    }

    @Test
    void rejectsAMetadataValueLongerThan256CharactersNamingItsKey() {
      assertRejected(
          request().setInstance(instance().putMetadata("blob", "x".repeat(257))),
          "instance.metadata[blob]");
    }
  }

  @Nested
  class TheRoutes {

    @Test
    void mayNotBeMoreThan100() {
      RegisterRequest.Builder request = request().clearRoutes();
      for (int i = 0; i <= RegistrationValidator.MAX_ROUTES; i++) {
        request.addRoutes(prefixRoute("/r" + i));
      }
      assertRejected(request, "routes").hasMessageContaining("101 routes");
    }

    @Test
    void needAPathMatch() {
      assertRejected(
          request().clearRoutes().addRoutes(Route.newBuilder().addHosts("api.example.com")),
          "routes[0].path");
    }

    @Test
    void needAPathMatchWithAKindSet() {
      assertRejected(
          request()
              .clearRoutes()
              .addRoutes(
                  Route.newBuilder()
                      .setPath(io.signalbox.registry.v1.PathMatch.getDefaultInstance())),
          "routes[0].path");
    }

    @Test
    void areNamedByTheirIndex() {
      assertRejected(request().addRoutes(prefixRoute("orders")), "routes[1].path.prefix");
    }

    @Test
    void rejectAPathWithoutALeadingSlash() {
      assertRejected(
              request().clearRoutes().addRoutes(prefixRoute("orders")), "routes[0].path.prefix")
          .hasMessageContaining("must start with '/'");
    }

    @Test
    void rejectAnExactPathWithAQuery() {
      assertRejected(
          request()
              .clearRoutes()
              .addRoutes(
                  Route.newBuilder()
                      .setPath(
                          io.signalbox.registry.v1.PathMatch.newBuilder()
                              .setExact("/orders?id=1"))),
          "routes[0].path.exact");
    }

    @Test
    void rejectAPathLongerThan1024Characters() {
      assertRejected(
          request().clearRoutes().addRoutes(prefixRoute("/" + "a".repeat(1024))),
          "routes[0].path.prefix");
    }

    @Test
    void rejectAMalformedRegex() {
      assertRejected(
              request()
                  .clearRoutes()
                  .addRoutes(
                      Route.newBuilder()
                          .setPath(io.signalbox.registry.v1.PathMatch.newBuilder().setRegex("("))),
              "routes[0].path.regex")
          .hasMessageContaining("not a valid RE2 regular expression");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"/(?=x)orders", "/(?!x)orders", "(a)\\1", "/orders(?<=s)"})
    void rejectARegexThatJavaAcceptsButRe2DoesNot(String regex) {
      assertThat(java.util.regex.Pattern.compile(regex))
          .as("java.util.regex accepts it")
          .isNotNull();

      assertRejected(
              request()
                  .clearRoutes()
                  .addRoutes(
                      Route.newBuilder()
                          .setPath(
                              io.signalbox.registry.v1.PathMatch.newBuilder().setRegex(regex))),
              "routes[0].path.regex")
          .hasMessageContaining("RE2");
    }

    @Test
    void rejectAnUppercaseVirtualHost() {
      assertRejected(
              request().clearRoutes().addRoutes(prefixRoute("/orders").addHosts("API.example.com")),
              "routes[0].hosts[0]")
          .hasMessageContaining("lowercase");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "not a host", "a.*.example.com", "api.example.com:8080"})
    void rejectAVirtualHostThatIsNotAHostName(String host) {
      assertRejected(
          request()
              .clearRoutes()
              .addRoutes(prefixRoute("/orders").addHosts("ok.example.com").addHosts(host)),
          "routes[0].hosts[1]");
    }

    @Test
    void acceptTheWildcardForms() {
      assertThat(
              validator
                  .validate(
                      request()
                          .clearRoutes()
                          .addRoutes(prefixRoute("/orders").addHosts("*").addHosts("*.example.com"))
                          .build())
                  .routes()
                  .get(0)
                  .hosts())
          .containsExactly("*", "*.example.com");
    }

    @Test
    void rejectMoreThan16Hosts() {
      Route.Builder route = prefixRoute("/orders");
      for (int i = 0; i < 17; i++) {
        route.addHosts("h" + i + ".example.com");
      }
      assertRejected(request().clearRoutes().addRoutes(route), "routes[0].hosts");
    }

    @Test
    void rejectAnUnknownMethod() {
      assertRejected(
              request()
                  .clearRoutes()
                  .addRoutes(prefixRoute("/orders").addMethods("GET").addMethods("FETCH")),
              "routes[0].methods[1]")
          .hasMessageContaining("'FETCH'");
    }

    @Test
    void rejectALowercaseMethod() {
      assertRejected(
          request().clearRoutes().addRoutes(prefixRoute("/orders").addMethods("get")),
          "routes[0].methods[0]");
    }

    @Test
    void rejectAPrefixRewriteWithAnExactMatch() {
      assertRejected(
              request()
                  .clearRoutes()
                  .addRoutes(
                      Route.newBuilder()
                          .setPath(
                              io.signalbox.registry.v1.PathMatch.newBuilder().setExact("/orders"))
                          .setPrefixRewrite("/v2")),
              "routes[0].prefix_rewrite")
          .hasMessageContaining("only with a prefix match");
    }

    @Test
    void rejectAPrefixRewriteThatIsNotAPath() {
      assertRejected(
          request().clearRoutes().addRoutes(prefixRoute("/orders").setPrefixRewrite("v2")),
          "routes[0].prefix_rewrite");
    }

    @Test
    void rejectANegativeTimeout() {
      assertRejected(
          request()
              .clearRoutes()
              .addRoutes(prefixRoute("/orders").setTimeout(Durations.fromSeconds(-1))),
          "routes[0].timeout");
    }

    @Test
    void rejectATimeoutAboveOneHour() {
      assertRejected(
          request()
              .clearRoutes()
              .addRoutes(prefixRoute("/orders").setTimeout(Durations.fromSeconds(3601))),
          "routes[0].timeout");
    }

    @Test
    void rejectAnEnormousTimeoutAsTooLongRatherThanOverflowing() {
      assertRejected(
          request()
              .clearRoutes()
              .addRoutes(prefixRoute("/orders").setTimeout(Durations.fromSeconds(10_000_000_000L))),
          "routes[0].timeout");
    }

    @Test
    void rejectTwoRoutesWithTheSameHostAndMatchNamingTheSecond() {
      assertRejected(
              request()
                  .clearRoutes()
                  .addRoutes(prefixRoute("/orders").addMethods("GET"))
                  .addRoutes(
                      prefixRoute("/orders")
                          .addMethods("GET")
                          .setTimeout(Durations.fromSeconds(5))),
              "routes[1]")
          .hasMessageContaining("routes[0]");
    }

    @Test
    void acceptsTwoDifferentMatchesThatMerelyPrintAlike() {
      assertThat(
              validator
                  .validate(
                      request()
                          .clearRoutes()
                          .addRoutes(
                              prefixRoute("/api")
                                  .addHeaders(header("x").setExact("1 header y exact 2")))
                          .addRoutes(
                              prefixRoute("/api")
                                  .addHeaders(header("x").setExact("1"))
                                  .addHeaders(header("y").setExact("2")))
                          .build())
                  .routes())
          .hasSize(2);
    }

    @Test
    void rejectADuplicateThatSharesOnlyOneOfSeveralHosts() {
      assertRejected(
          request()
              .clearRoutes()
              .addRoutes(prefixRoute("/orders").addHosts("a.example.com"))
              .addRoutes(
                  prefixRoute("/orders").addHosts("b.example.com").addHosts("a.example.com")),
          "routes[1]");
    }
  }

  @Nested
  class TheHeaders {

    static Stream<Arguments> invalidHeaders() {
      return Stream.of(
          Arguments.of(header("X-Tenant").setExact("a"), "routes[0].headers[0].name"),
          Arguments.of(header("").setExact("a"), "routes[0].headers[0].name"),
          Arguments.of(header("x-tenant"), "routes[0].headers[0]"),
          Arguments.of(header("x-tenant").setExact("tab\there"), "routes[0].headers[0].exact"),
          Arguments.of(
              header("x-tenant").setPrefix("x".repeat(1025)), "routes[0].headers[0].prefix"),
          Arguments.of(header("x-tenant").setRegex("(?=a)"), "routes[0].headers[0].regex"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("invalidHeaders")
    void areRejectedByTheirField(Builder header, String field) {
      assertRejected(
          request().clearRoutes().addRoutes(prefixRoute("/orders").addHeaders(header)), field);
    }

    @Test
    void mayNotMatchAnEmptyPrefixWhichEnvoyRefusesSoPresentSaysIt() {
      assertRejected(
              request()
                  .clearRoutes()
                  .addRoutes(prefixRoute("/orders").addHeaders(header("x-tenant").setPrefix(""))),
              "routes[0].headers[0].prefix")
          .hasMessageContaining("must not be empty")
          .hasMessageContaining("use present");
    }

    @Test
    void mayNotBeMoreThan16() {
      Route.Builder route = prefixRoute("/orders");
      for (int i = 0; i < 17; i++) {
        route.addHeaders(header("x-h" + i).setPresent(true));
      }
      assertRejected(request().clearRoutes().addRoutes(route), "routes[0].headers");
    }
  }

  @Nested
  class AnOversizedMessage {

    @Test
    void isRejectedAsAWholeBeforeAnyField() {
      // Each field is within its own limit; only the total is too large.
      Route.Builder route = prefixRoute("/orders");
      for (int h = 0; h < 16; h++) {
        route.addHeaders(header("x-h" + h).setExact("v".repeat(1024)));
      }
      RegisterRequest.Builder request = request().clearRoutes();
      for (int i = 0; i < 20; i++) {
        request.addRoutes(
            route
                .clone()
                .setPath(io.signalbox.registry.v1.PathMatch.newBuilder().setPrefix("/r" + i)));
      }
      assertThat(request.build().getSerializedSize())
          .isGreaterThan(RegistrationValidator.MAX_MESSAGE_BYTES);

      assertRejected(request, "request")
          .hasMessageContaining("limit is " + RegistrationValidator.MAX_MESSAGE_BYTES);
    }

    @Test
    void isReportedAsTooLargeEvenWhenAFieldIsAlsoInvalid() {
      UnaryOperator<RegisterRequest.Builder> bloat =
          r -> r.setInstance(instance().setId("x".repeat(300_000)));

      assertRejected(bloat.apply(request().setService("")), "request");
    }
  }

  @Nested
  class Retries {

    /** An operator who allows 2 retries and timeouts of at most 30 s. */
    private final RegistrationValidator bounded =
        new RegistrationValidator(
            RESOLVES_EVERYTHING,
            new DefaultRules() {
              @Override
              public int maxRetries() {
                return 2;
              }

              @Override
              public Duration maxRouteTimeout() {
                return Duration.ofSeconds(30);
              }
            });

    private static io.signalbox.registry.v1.RetryPolicy.Builder retry(int attempts) {
      return io.signalbox.registry.v1.RetryPolicy.newBuilder().setAttempts(attempts);
    }

    private AbstractThrowableAssert<?, ? extends Throwable> assertBoundedRejects(
        RegisterRequest.Builder request, String field) {
      return assertThatThrownBy(() -> bounded.validate(request.build()))
          .isInstanceOf(InvalidFieldException.class)
          .satisfies(e -> assertThat(((InvalidFieldException) e).field()).isEqualTo(field));
    }

    @Test
    void aRouteTakesItsOwnPolicyAndOtherwiseTheServices() {
      Registration registration =
          bounded.validate(
              request()
                  .setRetry(retry(1))
                  .addRoutes(
                      prefixRoute("/orders/v2")
                          .setRetry(
                              retry(2)
                                  .setPerTryTimeout(Durations.fromMillis(250))
                                  .addRetryOn("gateway-error")
                                  .addRetriableStatusCodes(409)))
                  .build());

      assertThat(registration.routes().get(0).retry())
          .contains(
              new io.signalbox.model.RetryPolicy(
                  1, Optional.empty(), List.of(), List.of(), Optional.empty()));
      assertThat(registration.routes().get(1).retry())
          .contains(
              new io.signalbox.model.RetryPolicy(
                  2,
                  Optional.of(Duration.ofMillis(250)),
                  List.of("gateway-error"),
                  List.of(409),
                  Optional.empty()));
    }

    @Test
    void aRouteWithoutATimeoutKeepsEnvoysDefaultWhenTheOperatorAllowsLonger() {
      assertThat(bounded.validate(request().build()).routes().get(0).timeout()).isEmpty();
    }

    @Test
    void aRouteWithoutATimeoutGetsTheOperatorsBoundWhenItIsBelowEnvoysDefault() {
      RegistrationValidator fiveSeconds =
          new RegistrationValidator(
              RESOLVES_EVERYTHING,
              new DefaultRules() {
                @Override
                public Duration maxRouteTimeout() {
                  return Duration.ofSeconds(5);
                }
              });

      List<io.signalbox.model.RouteSpec> routes =
          fiveSeconds
              .validate(
                  request()
                      .clearRoutes()
                      .addRoutes(prefixRoute("/orders"))
                      .addRoutes(prefixRoute("/fast").setTimeout(Durations.fromSeconds(2)))
                      .addRoutes(prefixRoute("/live").setWebsocket(true))
                      .addRoutes(
                          prefixRoute("/gone")
                              .setDirectResponse(
                                  io.signalbox.registry.v1.DirectResponse.newBuilder()
                                      .setStatus(410)))
                      .build())
              .routes();

      assertThat(routes)
          .extracting(io.signalbox.model.RouteSpec::timeout)
          .as("/orders, /fast, /live, /gone (a direct response forwards nothing)")
          .containsExactly(
              Optional.of(Duration.ofSeconds(5)),
              Optional.of(Duration.ofSeconds(2)),
              Optional.of(Duration.ofSeconds(5)),
              Optional.empty());
    }

    @Test
    void moreRetriesThanTheOperatorAllowsAreRefusedNamingTheFieldAndTheLimit() {
      assertBoundedRejects(
              request().setRoutes(0, prefixRoute("/orders").setRetry(retry(3))),
              "routes[0].retry.attempts")
          .hasMessageContaining("3 retries are more than the 2 the operator allows")
          .hasMessageContaining("limits.maxRetries");
      assertBoundedRejects(request().setRetry(retry(3)), "retry.attempts");
      assertRejected(request().setRetry(retry(11)), "retry.attempts")
          .as("10 at most, whatever the operator allows")
          .hasMessageContaining("more than the 5");
      assertRejected(request().setRetry(retry(0)), "retry.attempts");
    }

    @Test
    void aLongerTimeoutThanTheOperatorAllowsIsRefusedNamingTheField() {
      assertBoundedRejects(
              request().setRoutes(0, prefixRoute("/orders").setTimeout(Durations.fromSeconds(31))),
              "routes[0].timeout")
          .hasMessageContaining("limits.maxRouteTimeout");
      assertBoundedRejects(
              request().setRoutes(0, prefixRoute("/orders").setTimeout(Durations.fromSeconds(0))),
              "routes[0].timeout")
          .as("no timeout at all is longer than any bound")
          .hasMessageContaining("no timeout");
      assertBoundedRejects(
          request().setRetry(retry(1).setPerTryTimeout(Durations.fromSeconds(31))),
          "retry.per_try_timeout");
      assertRejected(
          request().setRetry(retry(1).setPerTryTimeout(Durations.fromSeconds(0))),
          "retry.per_try_timeout");
    }

    @Test
    void unknownConditionsAndNonHttpStatusesAreRefusedNamingTheEntry() {
      assertRejected(
              request().setRetry(retry(1).addRetryOn("5xx").addRetryOn("always")),
              "retry.retry_on[1]")
          .hasMessageContaining("'always' is not one of");
      assertRejected(
          request().setRetry(retry(1).addRetriableStatusCodes(600)),
          "retry.retriable_status_codes[0]");
      // uint32 4294967295 arrives as -1, and is named as sent.
      assertRejected(
              request().setRetry(retry(1).addRetriableStatusCodes(-1)),
              "retry.retriable_status_codes[0]")
          .hasMessageContaining("4294967295 is not an HTTP status");
    }
  }

  @Nested
  class Traffic {

    private RegisterRequest.Builder with(io.signalbox.registry.v1.TrafficPolicy.Builder traffic) {
      return request().setTraffic(traffic);
    }

    private io.signalbox.registry.v1.TrafficPolicy.Builder balancing(
        io.signalbox.registry.v1.LoadBalancing.Builder lb) {
      return io.signalbox.registry.v1.TrafficPolicy.newBuilder().setLoadBalancing(lb);
    }

    private io.signalbox.registry.v1.LoadBalancing.Builder algorithm(
        io.signalbox.registry.v1.LoadBalancing.Algorithm algorithm) {
      return io.signalbox.registry.v1.LoadBalancing.newBuilder().setAlgorithm(algorithm);
    }

    @Test
    void isRoundRobinWithoutLimitsWhenUnset() {
      assertThat(validator.validate(request().build()).traffic())
          .isEqualTo(io.signalbox.model.TrafficPolicy.DEFAULT);
    }

    @Test
    void mapsTheBalancerItsHashKeyTheBreakersAndOutlierDetection() {
      io.signalbox.model.TrafficPolicy traffic =
          validator
              .validate(
                  with(balancing(
                              algorithm(io.signalbox.registry.v1.LoadBalancing.Algorithm.RING_HASH)
                                  .setHeader("x-user-id"))
                          .setCircuitBreaker(
                              io.signalbox.registry.v1.CircuitBreaker.newBuilder()
                                  .setMaxConnections(10)
                                  .setMaxRequests(20))
                          .setOutlierDetection(
                              io.signalbox.registry.v1.OutlierDetection.newBuilder()
                                  .setConsecutive5Xx(3)
                                  .setInterval(Durations.fromSeconds(1))))
                      .build())
              .traffic();

      assertThat(traffic)
          .isEqualTo(
              new io.signalbox.model.TrafficPolicy(
                  io.signalbox.model.TrafficPolicy.LoadBalancer.RING_HASH,
                  Optional.of(
                      new io.signalbox.model.TrafficPolicy.HashOn(
                          io.signalbox.model.TrafficPolicy.HashOn.Kind.HEADER, "x-user-id")),
                  Optional.of(new io.signalbox.model.TrafficPolicy.CircuitBreaker(10, 0, 20, 0)),
                  Optional.of(
                      new io.signalbox.model.TrafficPolicy.OutlierDetection(
                          3, Duration.ofSeconds(1), Duration.ofSeconds(30), 10, 0)),
                  Optional.empty(),
                  Optional.empty(),
                  Optional.empty(),
                  false));
    }

    @Test
    void aHashingBalancerNeedsAKeyAndOnlyItMayHaveOne() {
      assertRejected(
              with(balancing(algorithm(io.signalbox.registry.v1.LoadBalancing.Algorithm.MAGLEV))),
              "traffic.load_balancing.hash_on")
          .hasMessageContaining("MAGLEV needs a hash key");
      assertRejected(
              with(
                  balancing(
                      algorithm(io.signalbox.registry.v1.LoadBalancing.Algorithm.LEAST_REQUEST)
                          .setCookie("session"))),
              "traffic.load_balancing.hash_on")
          .hasMessageContaining("goes only with RING_HASH or MAGLEV");
      assertRejected(
          with(
              balancing(
                  algorithm(io.signalbox.registry.v1.LoadBalancing.Algorithm.RING_HASH)
                      .setHeader("X User"))),
          "traffic.load_balancing.header");
      assertRejected(
          with(balancing(io.signalbox.registry.v1.LoadBalancing.newBuilder().setAlgorithmValue(9))),
          "traffic.load_balancing.algorithm");
    }

    @Test
    void mapsAVersionSplitWithItsPins() {
      io.signalbox.model.TrafficPolicy traffic =
          validator
              .validate(
                  with(io.signalbox.registry.v1.TrafficPolicy.newBuilder()
                          .setVersions(
                              io.signalbox.registry.v1.VersionSplit.newBuilder()
                                  .addWeights(weight("v1", 90))
                                  .addWeights(weight("v2", 10))
                                  .addPins(
                                      io.signalbox.registry.v1.VersionPin.newBuilder()
                                          .setHeader("x-canary")
                                          .setValue("1")
                                          .setVersion("v2"))))
                      .build())
              .traffic();

      assertThat(traffic.versions())
          .contains(
              new io.signalbox.model.TrafficPolicy.VersionSplit(
                  List.of(
                      new io.signalbox.model.TrafficPolicy.VersionWeight("v1", 90),
                      new io.signalbox.model.TrafficPolicy.VersionWeight("v2", 10)),
                  List.of(
                      io.signalbox.model.TrafficPolicy.VersionPin.header("x-canary", "1", "v2"))));
    }

    private io.signalbox.registry.v1.VersionWeight.Builder weight(String version, int weight) {
      return io.signalbox.registry.v1.VersionWeight.newBuilder()
          .setVersion(version)
          .setWeight(weight);
    }

    private RegisterRequest.Builder split(io.signalbox.registry.v1.VersionSplit.Builder split) {
      return with(io.signalbox.registry.v1.TrafficPolicy.newBuilder().setVersions(split));
    }

    @Test
    void aVersionSplitIsRefusedNamingTheBadEntry() {
      assertRejected(
          split(io.signalbox.registry.v1.VersionSplit.newBuilder()), "traffic.versions.weights");
      assertRejected(
              split(
                  io.signalbox.registry.v1.VersionSplit.newBuilder()
                      .addWeights(weight("v1", 0))
                      .addWeights(weight("v2", 0))),
              "traffic.versions.weights")
          .hasMessageContaining("every weight is 0");
      assertRejected(
          split(
              io.signalbox.registry.v1.VersionSplit.newBuilder()
                  .addWeights(weight("v1", 1))
                  .addWeights(weight("v1", 2))),
          "traffic.versions.weights[1].version");
      assertRejected(
          split(io.signalbox.registry.v1.VersionSplit.newBuilder().addWeights(weight("v 1", 1))),
          "traffic.versions.weights[0].version");
      assertRejected(
          split(io.signalbox.registry.v1.VersionSplit.newBuilder().addWeights(weight("v1", 1001))),
          "traffic.versions.weights[0].weight");
      assertRejected(
          split(
              io.signalbox.registry.v1.VersionSplit.newBuilder()
                  .addWeights(weight("v1", 1))
                  .addPins(
                      io.signalbox.registry.v1.VersionPin.newBuilder()
                          .setHeader("X-Canary")
                          .setValue("1")
                          .setVersion("v2"))),
          "traffic.versions.pins[0].header");
    }

    @Test
    void mapsAHealthCheckWithItsDefaultsAndRefusesAGrpcCheckOfAnHttp1Service() {
      RegisterRequest.Builder grpc =
          with(io.signalbox.registry.v1.TrafficPolicy.newBuilder()
                  .setHealthCheck(
                      io.signalbox.registry.v1.HealthCheck.newBuilder().setGrpcService("")))
              .setUpstreamProtocol(io.signalbox.registry.v1.UpstreamProtocol.GRPC);

      assertThat(validator.validate(grpc.build()).traffic().healthCheck())
          .contains(
              new io.signalbox.model.TrafficPolicy.HealthCheck(
                  io.signalbox.model.TrafficPolicy.HealthCheck.Kind.GRPC,
                  "",
                  Duration.ofSeconds(5),
                  Duration.ofSeconds(1),
                  2,
                  1));
      assertRejected(
              grpc.setUpstreamProtocol(io.signalbox.registry.v1.UpstreamProtocol.HTTP1),
              "traffic.health_check.grpc_service")
          .hasMessageContaining("needs upstream_protocol GRPC or HTTP2");
      assertRejected(
          with(
              io.signalbox.registry.v1.TrafficPolicy.newBuilder()
                  .setHealthCheck(io.signalbox.registry.v1.HealthCheck.newBuilder())),
          "traffic.health_check");
      assertRejected(
          with(
              io.signalbox.registry.v1.TrafficPolicy.newBuilder()
                  .setHealthCheck(
                      io.signalbox.registry.v1.HealthCheck.newBuilder()
                          .setHttpPath("/healthz")
                          .setInterval(Durations.fromMillis(10)))),
          "traffic.health_check.interval");
      assertRejected(
          with(
              io.signalbox.registry.v1.TrafficPolicy.newBuilder()
                  .setHealthCheck(
                      io.signalbox.registry.v1.HealthCheck.newBuilder().setHttpPath("healthz"))),
          "traffic.health_check.http_path");
    }

    @Test
    void outOfRangeLimitsAreRefusedNamingTheField() {
      assertRejected(
          with(
              io.signalbox.registry.v1.TrafficPolicy.newBuilder()
                  .setOutlierDetection(io.signalbox.registry.v1.OutlierDetection.newBuilder())),
          "traffic.outlier_detection.consecutive_5xx");
      assertRejected(
          with(
              io.signalbox.registry.v1.TrafficPolicy.newBuilder()
                  .setOutlierDetection(
                      io.signalbox.registry.v1.OutlierDetection.newBuilder()
                          .setConsecutive5Xx(1)
                          .setMaxEjectionPercent(101))),
          "traffic.outlier_detection.max_ejection_percent");
      assertRejected(
          with(
              io.signalbox.registry.v1.TrafficPolicy.newBuilder()
                  .setOutlierDetection(
                      io.signalbox.registry.v1.OutlierDetection.newBuilder()
                          .setConsecutive5Xx(1)
                          .setBaseEjectionTime(Durations.fromSeconds(7200)))),
          "traffic.outlier_detection.base_ejection_time");
      assertRejected(
          with(
              io.signalbox.registry.v1.TrafficPolicy.newBuilder()
                  .setCircuitBreaker(
                      io.signalbox.registry.v1.CircuitBreaker.newBuilder()
                          .setMaxPendingRequests(2_000_000))),
          "traffic.circuit_breaker.max_pending_requests");
    }
  }

  @Nested
  class HeaderRewrites {

    private RegisterRequest.Builder rewriting(
        io.signalbox.registry.v1.HeaderRewrite.Builder requestHeaders) {
      return request().setRoutes(0, prefixRoute("/orders").setRequestHeaders(requestHeaders));
    }

    @Test
    void mapsSetAddAndRemove() {
      RouteSpec route =
          validator
              .validate(
                  rewriting(
                          io.signalbox.registry.v1.HeaderRewrite.newBuilder()
                              .putSet("x-gateway", "signalbox")
                              .putAdd("x-tags", "a")
                              .addRemove("x-debug"))
                      .build())
              .routes()
              .get(0);

      assertThat(route.requestHeaders())
          .isEqualTo(
              new io.signalbox.model.HeaderRewrite(
                  Map.of("x-gateway", "signalbox"), Map.of("x-tags", "a"), List.of("x-debug")));
      assertThat(route.responseHeaders().isEmpty()).isTrue();
    }

    @Test
    void refusesHeadersThatMayNotChangeAndValuesThatCouldSplitAHeader() {
      assertRejected(
              rewriting(io.signalbox.registry.v1.HeaderRewrite.newBuilder().putSet("host", "evil")),
              "routes[0].request_headers.set[host]")
          .hasMessageContaining("cannot be changed");
      assertRejected(
          rewriting(
              io.signalbox.registry.v1.HeaderRewrite.newBuilder().addRemove("x-envoy-retry-on")),
          "routes[0].request_headers.remove[0]");
      assertRejected(
              rewriting(
                  io.signalbox.registry.v1.HeaderRewrite.newBuilder()
                      .putAdd("x-a", "one\r\nx-injected: two")),
              "routes[0].request_headers.add[x-a]")
          .hasMessageContaining("line break");
      assertRejected(
          rewriting(io.signalbox.registry.v1.HeaderRewrite.newBuilder().putSet("X-Upper", "v")),
          "routes[0].request_headers.set[X-Upper]");
    }
  }

  @Nested
  class Cors {

    private RegisterRequest.Builder withCors(io.signalbox.registry.v1.CorsPolicy.Builder cors) {
      return request().setRoutes(0, prefixRoute("/orders").setCors(cors));
    }

    @Test
    void aRouteTakesItsOwnPolicyAndOtherwiseTheServices() {
      Registration registration =
          validator.validate(
              request()
                  .setCors(
                      io.signalbox.registry.v1.CorsPolicy.newBuilder()
                          .addAllowOrigins("https://app.example.com")
                          .setAllowCredentials(true))
                  .addRoutes(
                      prefixRoute("/orders/public")
                          .setCors(
                              io.signalbox.registry.v1.CorsPolicy.newBuilder()
                                  .addAllowOrigins("*")
                                  .setMaxAge(Durations.fromSeconds(60))))
                  .build());

      assertThat(registration.routes().get(0).cors())
          .contains(
              new io.signalbox.model.CorsPolicy(
                  List.of("https://app.example.com"),
                  List.of(),
                  List.of(),
                  List.of(),
                  Optional.empty(),
                  true));
      assertThat(registration.routes().get(1).cors().orElseThrow().maxAge())
          .contains(Duration.ofSeconds(60));
    }

    @Test
    void refusesOriginsThatAreNotOriginsAndCredentialsForAnyOrigin() {
      assertRejected(
          withCors(io.signalbox.registry.v1.CorsPolicy.newBuilder()),
          "routes[0].cors.allow_origins");
      assertRejected(
          withCors(
              io.signalbox.registry.v1.CorsPolicy.newBuilder()
                  .addAllowOrigins("https://app.example.com/path")),
          "routes[0].cors.allow_origins[0]");
      assertRejected(
              withCors(
                  io.signalbox.registry.v1.CorsPolicy.newBuilder()
                      .addAllowOrigins("*")
                      .setAllowCredentials(true)),
              "routes[0].cors.allow_credentials")
          .hasMessageContaining("list the origins");
      assertRejected(
          withCors(
              io.signalbox.registry.v1.CorsPolicy.newBuilder()
                  .addAllowOrigins("*")
                  .addAllowMethods("FETCH")),
          "routes[0].cors.allow_methods[0]");
      assertRejected(
          withCors(
              io.signalbox.registry.v1.CorsPolicy.newBuilder()
                  .addAllowOrigins("*")
                  .setMaxAge(Durations.fromSeconds(90_000))),
          "routes[0].cors.max_age");
    }
  }
}
