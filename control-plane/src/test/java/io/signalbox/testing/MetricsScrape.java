package io.signalbox.testing;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One scrape of a Prometheus text endpoint, parsed into samples: for asserting on what a Prometheus
 * server would store.
 */
public final class MetricsScrape {

  /** One line of the exposition: a metric name, its labels, its value. */
  public record Sample(String name, Map<String, String> labels, double value) {}

  private static final Pattern SAMPLE =
      Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)})?\\s+(\\S+)(\\s+\\S+)?$");
  private static final Pattern LABEL =
      Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

  private final String text;
  private final List<Sample> samples;

  private MetricsScrape(String text, List<Sample> samples) {
    this.text = text;
    this.samples = samples;
  }

  /** GET {@code url}; fails unless it answers 200. */
  public static MetricsScrape of(String url) {
    HttpProbe.Response response = HttpProbe.get(url);
    if (response.status() != 200) {
      throw new AssertionError(
          "GET " + url + " answered " + response.status() + ": " + response.body());
    }
    return parse(response.body());
  }

  public static MetricsScrape parse(String text) {
    List<Sample> samples = new ArrayList<>();
    for (String line : text.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      Matcher sample = SAMPLE.matcher(line.trim());
      if (!sample.matches()) {
        throw new IllegalArgumentException("not a sample line: " + line);
      }
      Map<String, String> labels = new TreeMap<>();
      if (sample.group(3) != null) {
        Matcher label = LABEL.matcher(sample.group(3));
        while (label.find()) {
          labels.put(label.group(1), label.group(2));
        }
      }
      samples.add(
          new Sample(
              sample.group(1), Collections.unmodifiableMap(labels), parseValue(sample.group(4))));
    }
    return new MetricsScrape(text, List.copyOf(samples));
  }

  public String text() {
    return text;
  }

  public List<Sample> samples() {
    return samples;
  }

  /** Every metric name with at least one sample. */
  public Set<String> names() {
    Set<String> names = new TreeSet<>();
    samples.forEach(sample -> names.add(sample.name()));
    return names;
  }

  /**
   * The value of the sample of {@code name} whose labels include {@code labels} (given as name,
   * value, name, value...); empty if there is none; an error if several match.
   */
  public OptionalDouble value(String name, String... labels) {
    Map<String, String> wanted = new LinkedHashMap<>();
    for (int i = 0; i + 1 < labels.length; i += 2) {
      wanted.put(labels[i], labels[i + 1]);
    }
    List<Sample> matching =
        samples.stream()
            .filter(
                sample ->
                    sample.name().equals(name)
                        && sample.labels().entrySet().containsAll(wanted.entrySet()))
            .toList();
    if (matching.size() > 1) {
      throw new AssertionError("several samples of " + name + " " + wanted + ": " + matching);
    }
    return matching.isEmpty() ? OptionalDouble.empty() : OptionalDouble.of(matching.get(0).value());
  }

  /** As {@link #value}, failing when the sample is missing. */
  public double require(String name, String... labels) {
    return value(name, labels)
        .orElseThrow(
            () ->
                new AssertionError(
                    "no sample " + name + " " + List.of(labels) + " in the scrape:\n" + text));
  }

  private static double parseValue(String value) {
    return switch (value) {
      case "+Inf" -> Double.POSITIVE_INFINITY;
      case "-Inf" -> Double.NEGATIVE_INFINITY;
      case "NaN" -> Double.NaN;
      default -> Double.parseDouble(value);
    };
  }
}
