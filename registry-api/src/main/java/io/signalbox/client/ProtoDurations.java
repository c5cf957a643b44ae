package io.signalbox.client;

import java.time.Duration;

/**
 * Conversions between {@link Duration} and the protobuf well-known type, without pulling in
 * protobuf-java-util.
 */
final class ProtoDurations {

  private ProtoDurations() {}

  static com.google.protobuf.Duration toProto(Duration duration) {
    return com.google.protobuf.Duration.newBuilder()
        .setSeconds(duration.getSeconds())
        .setNanos(duration.getNano())
        .build();
  }

  static Duration fromProto(com.google.protobuf.Duration duration) {
    return Duration.ofSeconds(duration.getSeconds(), duration.getNanos());
  }
}
