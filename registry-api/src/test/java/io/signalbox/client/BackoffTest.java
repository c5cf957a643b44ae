package io.signalbox.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class BackoffTest {

  private final Backoff backoff = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(5));

  @Test
  void doublesFromTheInitialDelayWithJitter() {
    assertThat(backoff.next().toMillis()).isCloseTo(100, within(20L));
    assertThat(backoff.next().toMillis()).isCloseTo(200, within(40L));
    assertThat(backoff.next().toMillis()).isCloseTo(400, within(80L));
  }

  @Test
  void staysAroundTheMaximum() {
    for (int i = 0; i < 20; i++) {
      backoff.next();
    }

    assertThat(backoff.next().toMillis()).isCloseTo(5000, within(1000L));
  }

  @Test
  void startsOverAfterReset() {
    backoff.next();
    backoff.next();

    backoff.reset();

    assertThat(backoff.next().toMillis()).isCloseTo(100, within(20L));
  }
}
