package io.signalbox.xds;

import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Finds which of a set of changes make Envoy reject a configuration, by trying the last good
 * configuration plus subsets of them.
 *
 * <p>It starts from a known rejection of all the changes together and halves: a half that is
 * accepted is kept and the rejection must lie in the other half, which then needs no trial of its
 * own. One culprit among {@code n} changes costs at most about {@code 2 log2(n)} trials, {@code k}
 * culprits about {@code k} times that. It assumes what Envoy rejects is a change's own content: a
 * change is convicted once it is rejected on top of changes Envoy accepted. A trial without a
 * verdict (an Envoy that does not answer) ends the search without convicting anyone.
 *
 * <p>Pure: the trials are the caller's, and the candidates are tried in their sorted order.
 */
final class Bisection {

  private Bisection() {}

  enum Kind {
    ACCEPTED,
    REJECTED,
    NO_VERDICT
  }

  /**
   * What the fleet said to one trial.
   *
   * @param detail for a rejection: which Envoy rejected which type, and its error
   */
  record Outcome(Kind kind, String detail) {

    static final Outcome ACCEPTED = new Outcome(Kind.ACCEPTED, "");
    static final Outcome NO_VERDICT = new Outcome(Kind.NO_VERDICT, "");

    static Outcome rejected(String detail) {
      return new Outcome(Kind.REJECTED, detail);
    }
  }

  /**
   * Publishes the last good configuration plus {@code included} and reports what the fleet made of
   * it.
   */
  @FunctionalInterface
  interface Trial {
    Outcome judge(SortedSet<String> included);
  }

  /**
   * @param conclusive false when a trial had no verdict: then nobody is convicted
   * @param culprits each with the rejection that convicted it
   * @param accepted the changes Envoy accepted on top of the last good configuration (the last
   *     accepted trial)
   * @param trials how many trials were made
   */
  record Result(
      boolean conclusive,
      SortedMap<String, String> culprits,
      SortedSet<String> accepted,
      int trials) {}

  /**
   * @param candidates the changes since the last good configuration, all of which together Envoy
   *     rejected
   * @param rejection what Envoy said to all of them together
   */
  static Result findCulprits(Collection<String> candidates, String rejection, Trial trial) {
    Search search = new Search(trial);
    boolean conclusive = search.search(List.copyOf(new TreeSet<>(candidates)), rejection);
    return new Result(
        conclusive,
        conclusive
            ? Collections.unmodifiableSortedMap(search.culprits)
            : Collections.emptySortedMap(),
        Collections.unmodifiableSortedSet(search.accepted),
        search.trials);
  }

  private static final class Search {
    private final Trial trial;
    private final SortedSet<String> accepted = new TreeSet<>();
    private final SortedMap<String, String> culprits = new TreeMap<>();
    private int trials;

    Search(Trial trial) {
      this.trial = trial;
    }

    /**
     * Looks for culprits in {@code group}, given the accepted changes so far.
     *
     * @param knownRejection why accepted + group is known to be rejected, or null if that is to be
     *     tried
     * @return false when a trial had no verdict
     */
    boolean search(List<String> group, String knownRejection) {
      if (group.isEmpty()) {
        return true;
      }
      String rejection = knownRejection;
      if (rejection == null) {
        SortedSet<String> included = new TreeSet<>(accepted);
        included.addAll(group);
        trials++;
        Outcome outcome = trial.judge(Collections.unmodifiableSortedSet(included));
        switch (outcome.kind()) {
          case ACCEPTED -> {
            accepted.addAll(group);
            return true;
          }
          case NO_VERDICT -> {
            return false;
          }
          case REJECTED -> rejection = outcome.detail();
        }
      }
      if (group.size() == 1) {
        culprits.put(group.get(0), rejection);
        return true;
      }
      List<String> left = group.subList(0, group.size() / 2);
      List<String> right = group.subList(group.size() / 2, group.size());
      int culpritsBefore = culprits.size();
      if (!search(left, null)) {
        return false;
      }
      // If the left half held no culprit, it was accepted: the rejection of the whole lies in the
      // right half.
      return search(right, culprits.size() == culpritsBefore ? rejection : null);
    }
  }
}
