package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * An answer to a delta response answers every older one of the stream too: nonces are ordered by
 * the count after the stream's unguessable prefix, as java-control-plane's plain counts are.
 */
class StreamRecordNonceTest {

  @Test
  void aDeltaStreamsNoncesAreOrderedByTheirCountAfterThePrefix() {
    assertThat(StreamRecord.olderNonce("9f3a-2", "9f3a-10")).isTrue();
    assertThat(StreamRecord.olderNonce("9f3a-10", "9f3a-2")).isFalse();
    assertThat(StreamRecord.olderNonce("-7c1-0", "-7c1-1")).as("a negative prefix").isTrue();
  }

  @Test
  void countedNoncesAreOrderedAsCounts() {
    assertThat(StreamRecord.olderNonce("2", "10")).isTrue();
    assertThat(StreamRecord.olderNonce("10", "2")).isFalse();
  }
}
