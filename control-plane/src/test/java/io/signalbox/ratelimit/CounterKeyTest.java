package io.signalbox.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import org.junit.jupiter.api.Test;

class CounterKeyTest {

  @Test
  void equalDescriptorsShareAKeyAndAChangedValueDoesNot() {
    assertThat(CounterKey.of(descriptor("route", "orders", "limit", "10/MINUTE")))
        .isEqualTo(CounterKey.of(descriptor("route", "orders", "limit", "10/MINUTE")))
        .isNotEqualTo(CounterKey.of(descriptor("route", "orders", "limit", "11/MINUTE")));
  }

  @Test
  void whereOneStringEndsAndTheNextBeginsIsPartOfTheKey() {
    CounterKey split = CounterKey.of(descriptor("route", "ab", "x", "c"));

    assertThat(CounterKey.of(descriptor("route", "a", "bx", "c"))).isNotEqualTo(split);
    assertThat(CounterKey.of(descriptor("routeab", "", "x", "c"))).isNotEqualTo(split);
    assertThat(CounterKey.of(descriptor("x", "c", "route", "ab")))
        .as("entry order")
        .isNotEqualTo(split);
  }

  @Test
  void everyCharacterOfAValueOfMegabytesIsPartOfTheKey() {
    String huge = "v".repeat(4 << 20);

    assertThat(CounterKey.of(descriptor("x-api-key", huge)))
        .isEqualTo(CounterKey.of(descriptor("x-api-key", huge)))
        .isNotEqualTo(CounterKey.of(descriptor("x-api-key", huge + "w")));
  }

  private static RateLimitDescriptor descriptor(String... keysAndValues) {
    RateLimitDescriptor.Builder descriptor = RateLimitDescriptor.newBuilder();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      descriptor.addEntries(
          RateLimitDescriptor.Entry.newBuilder()
              .setKey(keysAndValues[i])
              .setValue(keysAndValues[i + 1]));
    }
    return descriptor.build();
  }
}
