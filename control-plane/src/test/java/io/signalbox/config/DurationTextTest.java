package io.signalbox.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class DurationTextTest {

  @ParameterizedTest
  @CsvSource({
    "500ms, PT0.5S",
    "10s, PT10S",
    " 5m , PT5M",
    "1h, PT1H",
    "0s, PT0S",
    "PT10S, PT10S",
    "pt2s, PT2S"
  })
  void readsShortFormsAndIso8601(String text, String expected) {
    assertThat(DurationText.parse(text)).isEqualTo(Duration.parse(expected));
  }

  @ParameterizedTest
  @ValueSource(strings = {"soon", "10", "-1s", "10 s", "1d", ""})
  void refusesAnythingElseNamingTheText(String text) {
    assertThatThrownBy(() -> DurationText.parse(text))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'" + text + "' is not a duration");
  }
}
