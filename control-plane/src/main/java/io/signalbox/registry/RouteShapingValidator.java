package io.signalbox.registry;

import static io.signalbox.registry.Fields.HEADER_NAME;
import static io.signalbox.registry.Fields.abbreviate;
import static io.signalbox.registry.Fields.check;

import com.google.protobuf.util.Durations;
import io.signalbox.model.CorsPolicy;
import io.signalbox.model.HeaderRewrite;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Checks what a route changes on the way (header changes) and what browsers may do with it (CORS),
 * and turns them into the model's, naming the field of any refusal.
 */
final class RouteShapingValidator {

  private RouteShapingValidator() {}

  private static final java.util.regex.Pattern ORIGIN =
      java.util.regex.Pattern.compile("https?://[a-z0-9.-]{1,253}(:[0-9]{1,5})?");

  static CorsPolicy cors(String field, io.signalbox.registry.v1.CorsPolicy proto) {
    check(
        proto.getAllowOriginsCount() >= 1 && proto.getAllowOriginsCount() <= 20,
        field + ".allow_origins",
        "needs 1-20 origins, has " + proto.getAllowOriginsCount());
    for (int i = 0; i < proto.getAllowOriginsCount(); i++) {
      String origin = proto.getAllowOrigins(i);
      check(
          origin.equals("*") || ORIGIN.matcher(origin).matches(),
          field + ".allow_origins[" + i + "]",
          "'"
              + abbreviate(origin)
              + "' is not \"*\" or an origin such as https://app.example.com (lowercase, no path)");
    }
    check(
        !(proto.getAllowCredentials() && proto.getAllowOriginsList().contains("*")),
        field + ".allow_credentials",
        "browsers refuse credentials with the origin \"*\"; list the origins");
    check(
        proto.getAllowMethodsCount() <= RegistrationValidator.METHODS.size(),
        field + ".allow_methods",
        "has more than " + RegistrationValidator.METHODS.size());
    for (int i = 0; i < proto.getAllowMethodsCount(); i++) {
      check(
          RegistrationValidator.METHODS.contains(proto.getAllowMethods(i)),
          field + ".allow_methods[" + i + "]",
          "'"
              + abbreviate(proto.getAllowMethods(i))
              + "' is not one of "
              + new java.util.TreeSet<>(RegistrationValidator.METHODS));
    }
    corsHeaders(field + ".allow_headers", proto.getAllowHeadersList());
    corsHeaders(field + ".expose_headers", proto.getExposeHeadersList());
    Optional<Duration> maxAge = Optional.empty();
    if (proto.hasMaxAge()) {
      check(
          Durations.isValid(proto.getMaxAge()) && !Durations.isNegative(proto.getMaxAge()),
          field + ".max_age",
          "must be a non-negative duration");
      Duration value =
          Duration.ofSeconds(proto.getMaxAge().getSeconds(), proto.getMaxAge().getNanos());
      check(value.compareTo(Duration.ofHours(24)) <= 0, field + ".max_age", "must be at most 24h");
      maxAge = Optional.of(value);
    }
    return new CorsPolicy(
        proto.getAllowOriginsList().stream().distinct().toList(),
        proto.getAllowMethodsList().stream().distinct().toList(),
        proto.getAllowHeadersList().stream().distinct().toList(),
        proto.getExposeHeadersList().stream().distinct().toList(),
        maxAge,
        proto.getAllowCredentials());
  }

  private static void corsHeaders(String field, List<String> names) {
    check(names.size() <= 20, field, "has more than 20");
    for (int i = 0; i < names.size(); i++) {
      check(
          HEADER_NAME.matcher(names.get(i)).matches(),
          field + "[" + i + "]",
          "'" + abbreviate(names.get(i)) + "' is not a lowercase header name");
    }
  }

  private static final int MAX_HEADER_CHANGES = 20;
  private static final int MAX_HEADER_VALUE = 1024;

  /** Headers a registration may not change: the connection's own, and Envoy's. */
  private static final Set<String> FIXED_HEADERS =
      Set.of(
          "host",
          "connection",
          "keep-alive",
          "proxy-connection",
          "transfer-encoding",
          "upgrade",
          "te",
          "content-length");

  static HeaderRewrite headerRewrite(String field, io.signalbox.registry.v1.HeaderRewrite proto) {
    check(
        proto.getSetCount() <= MAX_HEADER_CHANGES
            && proto.getAddCount() <= MAX_HEADER_CHANGES
            && proto.getRemoveCount() <= MAX_HEADER_CHANGES,
        field,
        "has more than " + MAX_HEADER_CHANGES + " entries in a list");
    new java.util.TreeMap<>(proto.getSetMap())
        .forEach((name, value) -> headerChange(field + ".set[" + name + "]", name, value));
    new java.util.TreeMap<>(proto.getAddMap())
        .forEach((name, value) -> headerChange(field + ".add[" + name + "]", name, value));
    for (int i = 0; i < proto.getRemoveCount(); i++) {
      headerChange(field + ".remove[" + i + "]", proto.getRemove(i), "");
    }
    return new HeaderRewrite(proto.getSetMap(), proto.getAddMap(), proto.getRemoveList());
  }

  private static void headerChange(String field, String name, String value) {
    check(
        HEADER_NAME.matcher(name).matches(),
        field,
        "'" + abbreviate(name) + "' is not a lowercase header name");
    check(
        !FIXED_HEADERS.contains(name) && !name.startsWith("x-envoy-"),
        field,
        "'" + name + "' cannot be changed (the connection's or Envoy's own)");
    check(
        value.length() <= MAX_HEADER_VALUE,
        field,
        "the value is longer than " + MAX_HEADER_VALUE + " characters");
    check(
        value.chars().noneMatch(c -> c == '\r' || c == '\n' || c == 0),
        field,
        "the value holds a line break or NUL");
  }
}
