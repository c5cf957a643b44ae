package io.signalbox.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import io.signalbox.model.RateLimit;
import org.junit.jupiter.api.Test;

class DescriptorLimitTest {

  @Test
  void encodesAndParsesBack() {
    DescriptorLimit limit = DescriptorLimit.of(RateLimit.global(10, RateLimit.Unit.MINUTE));

    assertThat(limit.encode()).isEqualTo("10/MINUTE");
    assertThat(DescriptorLimit.parse("10/MINUTE")).contains(limit);
    assertThat(DescriptorLimit.parse("1000000000/HOUR"))
        .contains(new DescriptorLimit(1_000_000_000, RateLimit.Unit.HOUR));
  }

  @Test
  void rejectsWhatTheTranslatorNeverWrites() {
    for (String value :
        new String[] {
          "",
          "/MINUTE",
          "0/MINUTE",
          "-1/MINUTE",
          "10/minute",
          "10/DAY",
          "10",
          "10/",
          "1 0/SECOND",
          "99999999999/SECOND",
          "+5/SECOND"
        }) {
      assertThat(DescriptorLimit.parse(value)).as(value).isEmpty();
    }
  }
}
