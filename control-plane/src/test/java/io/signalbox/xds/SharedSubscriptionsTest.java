package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Streams that subscribe the same way share one set of names. */
class SharedSubscriptionsTest {

  @Test
  void streamsThatMakeTheSameChangesHoldTheSameSet() {
    SharedSubscriptions first =
        SharedSubscriptions.NONE
            .change(List.of("svc-orders", "svc-users"), List.of())
            .change(List.of("svc-billing"), List.of("svc-orders"));
    SharedSubscriptions second =
        SharedSubscriptions.NONE
            .change(List.of("svc-orders", "svc-users"), List.of())
            .change(List.of("svc-billing"), List.of("svc-orders"));

    assertThat(second).isSameAs(first);
    assertThat(
            SharedSubscriptions.NONE
                .change(List.of("svc-users", "svc-orders"), List.of())
                .change(List.of("svc-billing"), List.of("svc-orders")))
        .as("the same names listed in another order")
        .isSameAs(first);
    assertThat(first.containsAll(List.of("svc-users", "svc-billing"))).isTrue();
    assertThat(first.contains("svc-orders")).isFalse();
  }

  @Test
  void anotherChangeMakesAnotherSetAndNoChangeNone() {
    SharedSubscriptions orders = SharedSubscriptions.NONE.change(List.of("svc-orders"), List.of());
    SharedSubscriptions users = SharedSubscriptions.NONE.change(List.of("svc-users"), List.of());

    assertThat(users).isNotSameAs(orders);
    assertThat(orders.contains("svc-users")).isFalse();
    assertThat(orders.change(List.of(), List.of())).isSameAs(orders);
    assertThat(SharedSubscriptions.NONE.isEmpty()).isTrue();
    assertThat(orders.change(List.of(), List.of("svc-orders")).isEmpty()).isTrue();
  }

  @Test
  void aStepIsKeptAsItsOwnCopyNotAsTheListAStreamGaveAndGoesOnChanging() {
    List<String> listed = new ArrayList<>(List.of("svc-kept-a", "svc-kept-b"));
    SharedSubscriptions first = SharedSubscriptions.NONE.change(listed, List.of());
    listed.clear();
    listed.add("svc-kept-c");

    assertThat(SharedSubscriptions.NONE.change(List.of("svc-kept-b", "svc-kept-a"), List.of()))
        .isSameAs(first);
    SharedSubscriptions other = SharedSubscriptions.NONE.change(listed, List.of());
    assertThat(other).isNotSameAs(first);
    assertThat(other.contains("svc-kept-c")).isTrue();
    assertThat(other.contains("svc-kept-a")).isFalse();
  }

  @Test
  void aNameListedTwiceIsSubscribedToOnce() {
    SharedSubscriptions twice =
        SharedSubscriptions.NONE.change(
            List.of("svc-twice-a", "svc-twice-a", "svc-twice-b"), List.of());

    assertThat(twice.containsAll(List.of("svc-twice-a", "svc-twice-b"))).isTrue();
    assertThat(twice.change(List.of(), List.of("svc-twice-a")).contains("svc-twice-a")).isFalse();
  }

  @Test
  void aListNamingOneNameTwiceIsNotTakenForAnotherStepOfTheSameHash() {
    // "Aa" and "BB" have the same String hash: so do the two lists below, as sets would.
    assertThat("svc-Aa".hashCode()).isEqualTo("svc-BB".hashCode());
    SharedSubscriptions both =
        SharedSubscriptions.NONE.change(List.of("svc-Aa", "svc-BB"), List.of());

    SharedSubscriptions twice =
        SharedSubscriptions.NONE.change(List.of("svc-Aa", "svc-Aa"), List.of());

    assertThat(twice).isNotSameAs(both);
    assertThat(twice.contains("svc-BB")).isFalse();
    assertThat(twice.contains("svc-Aa")).isTrue();
  }

  @Test
  void aStepFirstListedWithADuplicateIsFoundByTheSameNamesListedOnce() {
    SharedSubscriptions first =
        SharedSubscriptions.NONE.change(List.of("svc-dup-a", "svc-dup-a", "svc-dup-b"), List.of());

    assertThat(SharedSubscriptions.NONE.change(List.of("svc-dup-b", "svc-dup-a"), List.of()))
        .isSameAs(first);
  }
}
