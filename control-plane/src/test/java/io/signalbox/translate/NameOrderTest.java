package io.signalbox.translate;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** Lookups by halving in a name-ordered list. */
class NameOrderTest {

  private record Named(String name, int copy) {}

  private static final Function<Named, String> NAME = Named::name;

  private static final List<Named> SORTED =
      List.of(
          new Named("jwks-corp", 0),
          new Named("svc-a", 0),
          new Named("svc-b", 0),
          new Named("svc-b", 1),
          new Named("svc-c", 0),
          new Named("zipkin", 0));

  @Test
  void theFirstNameFromAKeyIsWhereTheKeyIsOrWouldBe() {
    assertThat(NameOrder.firstFrom(SORTED, NAME, "a")).isZero();
    assertThat(NameOrder.firstFrom(SORTED, NAME, "svc-")).isEqualTo(1);
    assertThat(NameOrder.firstFrom(SORTED, NAME, "svc-b")).isEqualTo(2);
    assertThat(NameOrder.firstFrom(SORTED, NAME, XdsNames.AFTER_SERVICE_CLUSTERS)).isEqualTo(5);
    assertThat(NameOrder.firstFrom(SORTED, NAME, "zz")).isEqualTo(6);
    assertThat(NameOrder.firstFrom(List.of(), NAME, "svc-")).isZero();
  }

  @Test
  void aNameIsFoundAsTheLastOfItsEqualsAndAMissingOneIsNot() {
    assertThat(NameOrder.named(SORTED, NAME, "svc-b")).isEqualTo(new Named("svc-b", 1));
    assertThat(NameOrder.named(SORTED, NAME, "svc-a")).isEqualTo(new Named("svc-a", 0));
    assertThat(NameOrder.named(SORTED, NAME, "zipkin")).isEqualTo(new Named("zipkin", 0));
    assertThat(NameOrder.named(SORTED, NAME, "svc-bb")).isNull();
    assertThat(NameOrder.named(SORTED, NAME, "zzz")).isNull();
  }

  @Test
  void everyServiceClusterSortsBetweenTheFirstAndThePastName() {
    for (String service : List.of("", "a", "-", ".", "~", "zeta", "svc", "ÿ")) {
      String cluster = XdsNames.serviceCluster(service);
      assertThat(cluster).isGreaterThanOrEqualTo(XdsNames.serviceCluster(""));
      assertThat(cluster).isLessThan(XdsNames.AFTER_SERVICE_CLUSTERS);
    }
    assertThat("svc").isLessThan(XdsNames.serviceCluster(""));
    assertThat("svc.a").isGreaterThanOrEqualTo(XdsNames.AFTER_SERVICE_CLUSTERS);
  }
}
