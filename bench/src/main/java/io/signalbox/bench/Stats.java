package io.signalbox.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Latency samples in nanoseconds; percentiles by nearest rank, reported in milliseconds. */
final class Stats {

  private final List<Long> samples = new ArrayList<>();

  void add(long nanos) {
    samples.add(nanos);
  }

  void addAll(Stats other) {
    samples.addAll(other.samples);
  }

  int count() {
    return samples.size();
  }

  boolean isEmpty() {
    return samples.isEmpty();
  }

  /** Nearest-rank percentile in ms, {@code p} in (0, 100]; NaN without samples. */
  double percentileMs(double p) {
    if (samples.isEmpty()) {
      return Double.NaN;
    }
    long[] sorted = sorted();
    int rank = (int) Math.ceil(p / 100.0 * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))] / 1e6;
  }

  double maxMs() {
    return samples.isEmpty() ? Double.NaN : sorted()[samples.size() - 1] / 1e6;
  }

  double minMs() {
    return samples.isEmpty() ? Double.NaN : sorted()[0] / 1e6;
  }

  double meanMs() {
    return samples.isEmpty()
        ? Double.NaN
        : samples.stream().mapToLong(Long::longValue).average().orElse(Double.NaN) / 1e6;
  }

  private long[] sorted() {
    long[] values = samples.stream().mapToLong(Long::longValue).toArray();
    Arrays.sort(values);
    return values;
  }

  static String ms(double value) {
    if (Double.isNaN(value)) {
      return "-";
    }
    return value >= 100
        ? String.format("%.0f", value)
        : value >= 10 ? String.format("%.1f", value) : String.format("%.2f", value);
  }
}
