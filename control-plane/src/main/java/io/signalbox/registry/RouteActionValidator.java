package io.signalbox.registry;

import static io.signalbox.registry.Fields.abbreviate;
import static io.signalbox.registry.Fields.check;

import com.google.common.net.InetAddresses;
import com.google.common.net.InternetDomainName;
import io.signalbox.model.RouteAction;
import io.signalbox.registry.v1.Route;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.Set;

/** Checks what a route does with a request: forward (WebSocket, mirror), redirect or answer. */
final class RouteActionValidator {

  static final int MAX_DIRECT_RESPONSE_BODY = 4096;
  private static final Set<Integer> REDIRECT_CODES = Set.of(301, 302, 303, 307, 308);

  private RouteActionValidator() {}

  /**
   * @param service the registering service: a route may not mirror to it
   */
  /**
   * @param regex checks a regular expression for {@code field} (RE2 syntax, program size) and
   *     returns it
   */
  static RouteAction action(
      String field,
      Route proto,
      String service,
      java.util.function.BinaryOperator<String> regex,
      Optional<java.time.Duration> idleTimeout) {
    return switch (proto.getAnswerCase()) {
      case REDIRECT -> {
        refuseForwardingParts(field, proto, "redirect");
        yield redirect(field + ".redirect", proto.getRedirect());
      }
      case DIRECT_RESPONSE -> {
        refuseForwardingParts(field, proto, "direct_response");
        yield directResponse(field + ".direct_response", proto.getDirectResponse());
      }
      case ANSWER_NOT_SET -> forward(field, proto, service, regex).idleTimeout(idleTimeout).build();
    };
  }

  private static RouteAction.Forward.Builder forward(
      String field, Route proto, String service, java.util.function.BinaryOperator<String> regex) {
    RouteAction.Forward.Builder forward = RouteAction.Forward.builder();
    forward.websocket(proto.getWebsocket());
    if (proto.hasMirror()) {
      forward.mirror(Optional.of(mirror(field + ".mirror", proto.getMirror(), service)));
    }
    if (proto.hasRegexRewrite()) {
      check(
          proto.getPrefixRewrite().isEmpty(),
          field + ".regex_rewrite",
          "not together with prefix_rewrite");
      String at = field + ".regex_rewrite";
      io.signalbox.registry.v1.RegexRewrite rewrite = proto.getRegexRewrite();
      check(!rewrite.getPattern().isEmpty(), at + ".pattern", "is required");
      String pattern = regex.apply(at + ".pattern", rewrite.getPattern());
      check(
          SUBSTITUTION.matcher(rewrite.getSubstitution()).matches(),
          at + ".substitution",
          "must be up to 1,024 printable characters without space, '?' and '#'");
      // Envoy takes a group the pattern does not have as nothing at all, at every request, and
      // says nothing: refused here, where it can be named.
      int groups = com.google.re2j.Pattern.compile(pattern).groupCount();
      java.util.regex.Matcher reference = SUBSTITUTION_GROUP.matcher(rewrite.getSubstitution());
      while (reference.find()) {
        int group = Integer.parseInt(reference.group(1));
        check(
            group <= groups,
            at + ".substitution",
            "names group \\"
                + group
                + ", but the pattern has "
                + (groups == 1 ? "1 group" : groups + " groups"));
      }
      forward.regexRewrite(
          Optional.of(new RouteAction.RegexRewrite(pattern, rewrite.getSubstitution())));
    }
    if (proto.hasFault()) {
      forward.fault(Optional.of(fault(field + ".fault", proto.getFault())));
    }
    forward.compress(proto.getCompress());
    check(
        Integer.compareUnsigned(proto.getMaxRequestBytes(), MAX_REQUEST_BYTES) <= 0,
        field + ".max_request_bytes",
        Integer.toUnsignedString(proto.getMaxRequestBytes())
            + " is over the limit of "
            + MAX_REQUEST_BYTES
            + " (16 MiB): Envoy holds the body in memory");
    // The buffer filter waits for a request's body, and a WebSocket upgrade sends none: the
    // connection would stall until a timeout.
    check(
        proto.getMaxRequestBytes() == 0 || !proto.getWebsocket(),
        field + ".max_request_bytes",
        "not together with websocket: Envoy would wait for a body the upgrade request never sends");
    forward.maxRequestBytes(proto.getMaxRequestBytes());
    return forward;
  }

  /** A group a regex rewrite's substitution names: {@code \\1} (Envoy's syntax). */
  private static final java.util.regex.Pattern SUBSTITUTION_GROUP =
      java.util.regex.Pattern.compile("\\\\([0-9])");

  /** The largest body limit a route may set: Envoy buffers up to this much per request. */
  static final int MAX_REQUEST_BYTES = 16 * 1024 * 1024;

  private static final java.util.regex.Pattern SUBSTITUTION =
      java.util.regex.Pattern.compile("[\\x21-\\x7e&&[^?#]]{0,1024}");

  private static RouteAction.Fault fault(String field, io.signalbox.registry.v1.Fault proto) {
    Optional<java.time.Duration> delay = Optional.empty();
    if (proto.hasDelay()) {
      check(
          com.google.protobuf.util.Durations.isValid(proto.getDelay()),
          field + ".delay",
          "is not a valid duration");
      java.time.Duration value =
          java.time.Duration.ofSeconds(proto.getDelay().getSeconds(), proto.getDelay().getNanos());
      check(
          value.compareTo(java.time.Duration.ofMillis(1)) >= 0
              && value.compareTo(java.time.Duration.ofSeconds(60)) <= 0,
          field + ".delay",
          "must be between 1 ms and 60 s");
      delay = Optional.of(value);
    }
    check(
        proto.getAbortStatus() == 0
            || (proto.getAbortStatus() >= 200 && proto.getAbortStatus() <= 599),
        field + ".abort_status",
        Integer.toUnsignedString(proto.getAbortStatus()) + " is out of range 200-599");
    check(
        delay.isPresent() || proto.getAbortStatus() != 0,
        field,
        "injects nothing: set delay and/or abort_status");
    check(
        delay.isPresent() || proto.getDelayPercent() == 0,
        field + ".delay_percent",
        "goes with delay");
    check(
        proto.getAbortStatus() != 0 || proto.getAbortPercent() == 0,
        field + ".abort_percent",
        "goes with abort_status");
    return new RouteAction.Fault(
        delay,
        percent(field + ".delay_percent", proto.getDelayPercent()),
        proto.getAbortStatus(),
        percent(field + ".abort_percent", proto.getAbortPercent()));
  }

  private static int percent(String field, int value) {
    check(
        Integer.compareUnsigned(value, 100) <= 0,
        field,
        Integer.toUnsignedString(value) + " is out of range 1-100");
    return value == 0 ? 100 : value;
  }

  /** A route that answers by itself forwards nothing, so it has nothing to rewrite or retry. */
  private static void refuseForwardingParts(String field, Route proto, String answer) {
    String with = "is for forwarded requests; not with " + answer;
    check(proto.getPrefixRewrite().isEmpty(), field + ".prefix_rewrite", with);
    check(!proto.hasTimeout(), field + ".timeout", with);
    check(!proto.hasRetry(), field + ".retry", with);
    check(!proto.getWebsocket(), field + ".websocket", with);
    check(!proto.hasMirror(), field + ".mirror", with);
    check(!proto.hasRegexRewrite(), field + ".regex_rewrite", with);
    check(!proto.hasFault(), field + ".fault", with);
    check(!proto.getCompress(), field + ".compress", with);
    check(proto.getMaxRequestBytes() == 0, field + ".max_request_bytes", with);
    check(!proto.hasIdleTimeout(), field + ".idle_timeout", with);
  }

  private static RouteAction.Redirect redirect(
      String field, io.signalbox.registry.v1.Redirect proto) {
    String scheme = proto.getScheme();
    check(
        scheme.isEmpty() || scheme.equals("http") || scheme.equals("https"),
        field + ".scheme",
        "'" + abbreviate(scheme) + "' is not http or https");
    String host = proto.getHost();
    check(
        host.isEmpty()
            || host.length() <= 253
                && host.equals(host.toLowerCase(java.util.Locale.ROOT))
                && (InetAddresses.isInetAddress(host)
                    || InternetDomainName.isValid(host) && !host.endsWith(".")),
        field + ".host",
        "'" + abbreviate(host) + "' is not a lowercase host name or IP address");
    check(
        Integer.compareUnsigned(proto.getPort(), 65535) <= 0,
        field + ".port",
        Integer.toUnsignedString(proto.getPort()) + " is out of range 1-65535");
    Optional<String> path =
        proto.getPath().isEmpty()
            ? Optional.empty()
            : Optional.of(RegistrationValidator.path(field + ".path", proto.getPath()));
    int code = proto.getCode() == 0 ? 301 : proto.getCode();
    check(
        REDIRECT_CODES.contains(code),
        field + ".code",
        Integer.toUnsignedString(proto.getCode()) + " is not one of 301, 302, 303, 307, 308");
    check(
        !scheme.isEmpty() || !host.isEmpty() || proto.getPort() != 0 || path.isPresent(),
        field,
        "changes nothing (set scheme, host, port or path): it would redirect a request to itself");
    return new RouteAction.Redirect(
        Optional.of(scheme).filter(s -> !s.isEmpty()),
        Optional.of(host).filter(h -> !h.isEmpty()),
        proto.getPort(),
        path,
        code,
        proto.getStripQuery());
  }

  private static RouteAction.DirectResponse directResponse(
      String field, io.signalbox.registry.v1.DirectResponse proto) {
    check(
        proto.getStatus() >= 200 && proto.getStatus() <= 599,
        field + ".status",
        Integer.toUnsignedString(proto.getStatus()) + " is out of range 200-599");
    int bytes = proto.getBodyBytes().size();
    check(
        bytes <= MAX_DIRECT_RESPONSE_BODY,
        field + ".body",
        bytes + " bytes; the limit is " + MAX_DIRECT_RESPONSE_BODY);
    return new RouteAction.DirectResponse(
        proto.getStatus(), proto.getBodyBytes().toString(StandardCharsets.UTF_8));
  }

  private static RouteAction.Mirror mirror(
      String field, io.signalbox.registry.v1.Mirror proto, String service) {
    String shadow = proto.getService();
    check(
        RegistrationValidator.SERVICE_NAME.matcher(shadow).matches(),
        field + ".service",
        "'" + abbreviate(shadow) + "' is not a service name");
    check(
        !shadow.equals(service),
        field + ".service",
        "is this service: its instances would get every request twice");
    check(
        Integer.compareUnsigned(proto.getPercent(), 100) <= 0,
        field + ".percent",
        Integer.toUnsignedString(proto.getPercent()) + " is out of range 1-100");
    return new RouteAction.Mirror(shadow, proto.getPercent() == 0 ? 100 : proto.getPercent());
  }
}
