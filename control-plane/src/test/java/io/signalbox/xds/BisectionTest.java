package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.signalbox.xds.Bisection.Outcome;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SortedSet;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Finding the changes Envoy rejects: a fake Envoy rejects every trial that includes one of its
 * "bad" services and says which; the search must convict exactly those, in few trials.
 */
class BisectionTest {

  /**
   * A fake fleet: rejects a trial that includes a bad service, naming the first; records every
   * trial.
   */
  private static final class FakeEnvoy implements Bisection.Trial {
    final Set<String> bad;
    final List<SortedSet<String>> trials = new ArrayList<>();

    FakeEnvoy(String... bad) {
      this.bad = Set.of(bad);
    }

    @Override
    public Outcome judge(SortedSet<String> included) {
      trials.add(included);
      return verdict(included);
    }

    /** What Envoy said to all candidates together, which started the search. */
    String rejectionOf(List<String> candidates) {
      return verdict(new java.util.TreeSet<>(candidates)).detail();
    }

    private Outcome verdict(SortedSet<String> included) {
      return included.stream()
          .filter(bad::contains)
          .findFirst()
          .map(service -> Outcome.rejected("regex of " + service + " is too large"))
          .orElse(Outcome.ACCEPTED);
    }
  }

  private static List<String> services(int count) {
    return IntStream.range(0, count).mapToObj(i -> String.format("svc-%03d", i)).toList();
  }

  private static int log2Ceiling(int n) {
    return 32 - Integer.numberOfLeadingZeros(n - 1);
  }

  @Test
  void convictsALoneCandidateWithoutATrial() {
    FakeEnvoy envoy = new FakeEnvoy("orders");

    Bisection.Result result =
        Bisection.findCulprits(List.of("orders"), "routes rejected: regex too large", envoy);

    assertThat(result.conclusive()).isTrue();
    assertThat(result.culprits())
        .containsExactlyEntriesOf(java.util.Map.of("orders", "routes rejected: regex too large"));
    assertThat(result.trials()).isZero();
    assertThat(envoy.trials).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(ints = {2, 3, 7, 16, 100, 1000})
  void findsOneCulpritAmongManyInAboutTwiceLog2Trials(int count) {
    List<String> candidates = services(count);
    for (String culprit :
        List.of(candidates.get(0), candidates.get(count / 2), candidates.get(count - 1))) {
      FakeEnvoy envoy = new FakeEnvoy(culprit);

      Bisection.Result result =
          Bisection.findCulprits(candidates, envoy.rejectionOf(candidates), envoy);

      assertThat(result.conclusive()).isTrue();
      assertThat(result.culprits()).containsOnlyKeys(culprit);
      assertThat(result.culprits().get(culprit)).isEqualTo("regex of " + culprit + " is too large");
      assertThat(result.trials())
          .isEqualTo(envoy.trials.size())
          .isLessThanOrEqualTo(2 * log2Ceiling(count));
      assertThat(result.accepted()).hasSize(count - 1).doesNotContain(culprit);
    }
  }

  @Test
  void findsTwoCulpritsAndKeepsEveryOtherChange() {
    List<String> candidates = List.of("alpha", "bravo", "charlie", "delta");
    FakeEnvoy envoy = new FakeEnvoy("alpha", "charlie");

    Bisection.Result result =
        Bisection.findCulprits(candidates, envoy.rejectionOf(candidates), envoy);

    assertThat(result.conclusive()).isTrue();
    assertThat(result.culprits()).containsOnlyKeys("alpha", "charlie");
    assertThat(result.culprits().get("charlie")).isEqualTo("regex of charlie is too large");
    assertThat(result.accepted()).containsExactly("bravo", "delta");
    assertThat(envoy.trials.get(envoy.trials.size() - 1))
        .as("the last accepted trial is the outcome")
        .containsExactly("bravo", "delta");
  }

  @Test
  void findsTwoCulpritsAmongManyInAboutTwiceAsManyTrialsAsOne() {
    FakeEnvoy envoy = new FakeEnvoy("svc-003", "svc-011");

    Bisection.Result result =
        Bisection.findCulprits(services(16), envoy.rejectionOf(services(16)), envoy);

    assertThat(result.culprits()).containsOnlyKeys("svc-003", "svc-011");
    assertThat(result.accepted()).hasSize(14);
    assertThat(result.trials()).isLessThanOrEqualTo(2 * 2 * log2Ceiling(16));
  }

  @Test
  void convictsEveryCandidateWhenAllAreRejected() {
    FakeEnvoy envoy = new FakeEnvoy("a", "b", "c");

    Bisection.Result result =
        Bisection.findCulprits(List.of("c", "a", "b"), "regex of a is too large", envoy);

    assertThat(result.culprits()).containsOnlyKeys("a", "b", "c");
    assertThat(result.accepted()).isEmpty();
  }

  @Test
  void triesTheCandidatesInSortedOrder() {
    FakeEnvoy envoy = new FakeEnvoy("zulu");

    Bisection.findCulprits(List.of("zulu", "alpha", "mike", "bravo"), "zulu", envoy);

    assertThat(envoy.trials.get(0)).containsExactly("alpha", "bravo");
  }

  @Test
  void convictsTheLaterOfTwoChangesThatAreOnlyRejectedTogether() {
    // Not what Envoy's rejections usually look like, but the search must still end with the rest
    // accepted.
    Bisection.Trial together =
        included ->
            included.containsAll(Set.of("alpha", "bravo"))
                ? Outcome.rejected("alpha and bravo together")
                : Outcome.ACCEPTED;

    Bisection.Result result =
        Bisection.findCulprits(
            List.of("alpha", "bravo", "charlie"), "alpha and bravo together", together);

    assertThat(result.culprits()).containsOnlyKeys("bravo");
    assertThat(result.accepted()).containsExactly("alpha", "charlie");
  }

  @Test
  void convictsNobodyWhenATrialHasNoVerdict() {
    List<SortedSet<String>> trials = new ArrayList<>();
    Bisection.Trial silentAfterOne =
        included -> {
          trials.add(included);
          return trials.size() == 1 ? Outcome.rejected("first") : Outcome.NO_VERDICT;
        };

    Bisection.Result result = Bisection.findCulprits(services(8), "first", silentAfterOne);

    assertThat(result.conclusive()).isFalse();
    assertThat(result.culprits()).isEmpty();
    assertThat(trials).hasSize(2);
  }
}
