package io.signalbox.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A registration's approximate size: what the registry's byte quota counts. */
class RegistrationSizeTest {

  private static final Instance INSTANCE = Instance.of("orders-1", "10.0.0.7", 8080);

  private static Registration withRoutes(List<RouteSpec> routes) {
    return new Registration("orders", INSTANCE, routes);
  }

  private static RouteSpec route(String prefix) {
    return RouteSpec.builder(PathMatch.prefix(prefix)).build();
  }

  private static Registration withTeamHeader(PathMatch path, Map<String, String> headers) {
    return withRoutes(
        List.of(
            RouteSpec.builder(path)
                .requestHeaders(new HeaderRewrite(headers, Map.of(), List.of()))
                .build()));
  }

  @Test
  void growsWithTheCharactersOfEveryString() {
    long shortPrefix = withRoutes(List.of(route("/o"))).approximateBytes();
    long longPrefix = withRoutes(List.of(route("/o" + "x".repeat(1000)))).approximateBytes();

    assertThat(longPrefix - shortPrefix).isEqualTo(1000);
  }

  @Test
  void countsWhatIsNestedInRoutesPoliciesAndMaps() {
    Registration plain = withRoutes(List.of(route("/orders")));
    Registration withHeaders =
        withTeamHeader(PathMatch.prefix("/orders"), Map.of("x-team", "checkout"));
    Registration calling = plain.withMesh(new MeshPolicy(List.of(), List.of("users")));

    assertThat(withHeaders.approximateBytes())
        .isGreaterThanOrEqualTo(plain.approximateBytes() + "x-team".length() + "checkout".length());
    assertThat(calling.approximateBytes())
        .isGreaterThanOrEqualTo(plain.approximateBytes() + "users".length());
  }

  @Test
  void isProportionalToTheRoutesNotASummaryOfThem() {
    List<RouteSpec> many = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      many.add(route("/orders-" + i));
    }
    long one = withRoutes(List.of(route("/orders-1"))).approximateBytes();
    long empty = withRoutes(List.of()).approximateBytes();

    assertThat(withRoutes(many).approximateBytes() - empty)
        .isGreaterThanOrEqualTo(900 * (one - empty));
  }

  @Test
  void isTheSameForEqualRegistrationsWhetherTheyShareTheirStringsOrNot() {
    // One parsed from a request holds strings of its own; one restored or replicated may share
    // them. The quota must count both alike: what is measured is the value, not the heap shared.
    Registration shared = withTeamHeader(PathMatch.prefix("/orders"), Map.of("x-team", "checkout"));
    Registration copied =
        withTeamHeader(
            PathMatch.prefix(new String("/orders")),
            Map.of(new String("x-team"), new String("checkout")));

    assertThat(copied).isEqualTo(shared);
    assertThat(copied.approximateBytes()).isEqualTo(shared.approximateBytes()).isPositive();
  }
}
