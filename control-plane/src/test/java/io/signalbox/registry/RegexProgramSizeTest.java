package io.signalbox.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.signalbox.registry.v1.Instance;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.Route;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A regex is priced before it is compiled: one that would compile to more RE2 instructions than
 * Envoy accepts is refused at once, naming the field, however much compiling it would have cost.
 */
class RegexProgramSizeTest {

  private final RegistrationValidator validator =
      new RegistrationValidator(host -> Optional.of(host), RegistrationRules.DEFAULT);

  private static RegisterRequest withPathRegex(String regex) {
    return RegisterRequest.newBuilder()
        .setService("reports")
        .setInstance(Instance.newBuilder().setId("r1").setHost("10.0.0.1").setPort(8080))
        .addRoutes(Route.newBuilder().setPath(PathMatch.newBuilder().setRegex(regex)))
        .build();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "((a{1000}){1000}){1000}",
        "(((((((((a{1000})))))))))",
        "(a{1000}){1000}",
        "/reports/(ab|cd|ef|gh){30}",
        "[^/]{1000}",
        "(?i)(x+x+)+y{999}"
      })
  void aRegexOverEnvoysProgramLimitIsRefusedBeforeItIsCompiled(String regex) {
    long started = System.nanoTime();

    assertThatThrownBy(() -> validator.validate(withPathRegex(regex)))
        .isInstanceOf(InvalidFieldException.class)
        .hasMessageStartingWith("routes[0].path.regex: ")
        .hasMessageContaining(
            "RE2 instructions; Envoy accepts at most 100 (limits.maxRegexProgramSize)");
    // Pricing is one pass over the text; compiling the first of these alone takes gigabytes and
    // minutes.
    assertThat(System.nanoTime() - started).isLessThan(10_000_000_000L);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "/users/[0-9]+",
        "/api/v[0-9]+/items/[0-9a-f]{8}",
        "/(orders|carts)/[^/]+/items",
        "/files/.*\\.(png|jpe?g)",
        "/\\Q(literal)\\E/x",
        "/(?P<id>[0-9]{1,6})/(?i:edit)"
      })
  void everydayRegexesAreWellUnderTheLimit(String regex) {
    assertThat(RegexProgramSize.estimate(regex, 100)).isLessThanOrEqualTo(60);
  }

  @Test
  void theEstimateErrsHighWhereEnvoyMeasured() {
    // Envoy 1.40 measured "RE2 program size of 313" for this one (NackQuarantineEndToEndTest).
    assertThat(RegexProgramSize.estimate("/reports/(ab|cd|ef|gh){30}", 10_000))
        .isBetween(313L, 500L);
  }

  static Stream<Arguments> unicodeAndNegatedPerlClassesEnvoyMeasured() {
    // Envoy 1.40's "RE2 program size of N" for each: a Unicode category is several byte ranges,
    // inside a class or outside it, and so is the complement of \w.
    return Stream.of(
        Arguments.of("/a/[\\pL\\pN]{20}", 207),
        Arguments.of("/a/" + "[\\pL]".repeat(20), 147),
        Arguments.of("/a/\\pL{15}", 112),
        Arguments.of("/a/" + "\\W".repeat(23), 122));
  }

  @ParameterizedTest(name = "{0} (Envoy: {1})")
  @MethodSource("unicodeAndNegatedPerlClassesEnvoyMeasured")
  void theEstimateIsNoLessThanEnvoysSizeForUnicodeAndNegatedPerlClasses(
      String regex, long envoySize) {
    assertThat(RegexProgramSize.estimate(regex, 10_000)).isGreaterThanOrEqualTo(envoySize);
  }

  @ParameterizedTest
  @MethodSource("unicodeAndNegatedPerlClassesEnvoyMeasured")
  void aRegexOfUnicodeClassesOverEnvoysLimitIsRefused(String regex, long envoySize) {
    assertThat(envoySize).as("Envoy refuses it").isGreaterThan(100);
    assertThatThrownBy(() -> validator.validate(withPathRegex(regex)))
        .isInstanceOf(InvalidFieldException.class)
        .hasMessageStartingWith("routes[0].path.regex: ")
        .hasMessageContaining("Envoy accepts at most 100");
  }

  @ParameterizedTest(name = "{0} (Envoy: {1})")
  @CsvSource({"a+b+c+d+e+f+g+h+i+j+, 33", "(?:ab)+(?:cd)+(?:ef)+, 15"})
  void theEstimateCountsTheJumpBackOfEachLoop(String regex, long envoySize) {
    assertThat(RegexProgramSize.estimate(regex, 10_000)).isGreaterThanOrEqualTo(envoySize);
  }

  @Test
  void aClassCostsARangePerItem() {
    // Envoy 1.40 measured 10 for [acegik]: six ranges and the four every program has.
    assertThat(RegexProgramSize.estimate("[acegik]", 100)).isGreaterThanOrEqualTo(10);
    assertThat(RegexProgramSize.estimate("[a-z]", 100)).isEqualTo(5);
  }

  @Test
  void theEstimateStopsAtTheLimit() {
    assertThat(RegexProgramSize.estimate("((a{1000}){1000}){1000}", 100)).isEqualTo(101);
  }
}
