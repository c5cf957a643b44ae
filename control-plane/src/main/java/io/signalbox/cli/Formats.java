package io.signalbox.cli;

import io.signalbox.admin.v1.ResourceChanges;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Text for tables. */
final class Formats {
  private Formats() {}

  static String version(String version) {
    return version.isEmpty() ? "none" : version.length() > 8 ? version.substring(0, 8) : version;
  }

  static String orNone(String version) {
    return version.isEmpty() ? "nothing yet" : version;
  }

  static String ago(com.google.protobuf.Timestamp at) {
    return duration(Duration.between(instant(at), Instant.now())) + " ago";
  }

  static String in(com.google.protobuf.Timestamp at) {
    return "in " + duration(Duration.between(Instant.now(), instant(at)));
  }

  static String duration(com.google.protobuf.Duration duration) {
    return duration(Duration.ofSeconds(duration.getSeconds(), duration.getNanos()));
  }

  static String duration(Duration duration) {
    long seconds = Math.max(0, duration.toSeconds());
    if (seconds < 60) {
      return duration.isNegative()
          ? "0s"
          : seconds == 0 ? duration.toMillis() / 100 / 10.0 + "s" : seconds + "s";
    }
    if (seconds < 3600) {
      return seconds / 60 + "m" + (seconds % 60 == 0 ? "" : seconds % 60 + "s");
    }
    if (seconds < 86400) {
      return seconds / 3600 + "h" + (seconds % 3600 / 60 == 0 ? "" : seconds % 3600 / 60 + "m");
    }
    return seconds / 86400
        + "d"
        + (seconds % 86400 / 3600 == 0 ? "" : seconds % 86400 / 3600 + "h");
  }

  static String changes(List<ResourceChanges> changes) {
    List<String> parts = new ArrayList<>();
    for (ResourceChanges type : changes) {
      StringBuilder part = new StringBuilder(type.getType());
      if (type.getAddedCount() > 0) {
        part.append(" +").append(type.getAddedCount());
      }
      if (type.getRemovedCount() > 0) {
        part.append(" -").append(type.getRemovedCount());
      }
      if (type.getModifiedCount() > 0) {
        part.append(" ~").append(type.getModifiedCount());
      }
      parts.add(part.toString());
    }
    return parts.isEmpty() ? "none" : String.join(", ", parts);
  }

  private static Instant instant(com.google.protobuf.Timestamp at) {
    return Instant.ofEpochSecond(at.getSeconds(), at.getNanos());
  }
}
