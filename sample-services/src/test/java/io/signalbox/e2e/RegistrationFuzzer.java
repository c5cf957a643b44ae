package io.signalbox.e2e;

import com.google.protobuf.Duration;
import io.signalbox.registry.v1.AuthPolicy;
import io.signalbox.registry.v1.HeaderMatch;
import io.signalbox.registry.v1.Instance;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.RateLimitPolicy;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.Route;
import java.util.List;
import java.util.Random;

/**
 * Registrations made up from a seed: plausible ones, hostile ones (nested repetitions, control
 * characters, huge counts, addresses the gateway must never reach, capture attempts) and valid ones
 * with one field broken. The same seed gives the same sequence, so a failure reproduces.
 */
final class RegistrationFuzzer {

  private static final List<String> REGEX_PARTS =
      List.of(
          "[0-9]+",
          "[a-z]{1,8}",
          ".*",
          "(a|b)",
          "(x+x+)+",
          "((a{100}){100})",
          "[^/]",
          "\\d{3}",
          "(?i)abc",
          "(?P<id>[0-9]+)",
          "\\pL+",
          "[[:alpha:]]",
          "a{2,1000}",
          "(",
          ")",
          "[",
          "\\",
          "|",
          "{5}",
          "(?=x)",
          "\\1",
          "$",
          "^",
          "\u00e9",
          "%2F",
          "..",
          "//");
  private static final List<String> HOSTS =
      List.of(
          "10.0.0.7",
          "192.0.2.10",
          "127.0.0.1",
          "169.254.169.254",
          "0.0.0.0",
          "::1",
          "224.0.0.1",
          "fe80::1",
          "2001:db8::5",
          "localhost",
          "orders.internal",
          "",
          "a..b",
          "-bad-",
          "10.0.0.300",
          "x".repeat(300),
          "::ffff:127.0.0.1");
  private static final List<String> VHOSTS =
      List.of(
          "api.example.com",
          "*.example.com",
          "*",
          "",
          "Upper.Example.com",
          "exa mple.com",
          "*.*.example.com",
          "127.0.0.1",
          "x".repeat(260));
  private static final List<String> HEADER_NAMES =
      List.of(
          "x-canary",
          "x-user",
          "Host",
          ":path",
          "",
          "x y",
          "content-length",
          "x-" + "h".repeat(200));
  private static final List<String> SERVICE_NAMES =
      List.of(
          "orders",
          "users",
          "Orders",
          "",
          "a",
          "-x",
          "x".repeat(64),
          "svc_1",
          "ok-service",
          "ümlaut");

  private final Random random;
  private int counter;

  RegistrationFuzzer(long seed) {
    this.random = new Random(seed);
  }

  RegisterRequest next() {
    counter++;
    return switch (random.nextInt(3)) {
      case 0 -> plausible();
      case 1 -> hostile();
      default -> mutated(plausible());
    };
  }

  private RegisterRequest plausible() {
    String service = "fz-" + counter;
    RegisterRequest.Builder request =
        RegisterRequest.newBuilder()
            .setService(service)
            .setInstance(
                Instance.newBuilder()
                    .setId(service + "-1")
                    .setHost("192.0.2." + (1 + random.nextInt(200)))
                    .setPort(1024 + random.nextInt(60000)))
            .setLeaseTtl(Duration.newBuilder().setSeconds(1 + random.nextInt(20)));
    request.addRoutes(Route.newBuilder().setPath(PathMatch.newBuilder().setPrefix("/" + service)));
    int more = random.nextInt(4);
    for (int i = 0; i < more; i++) {
      request.addRoutes(route("/" + service));
    }
    return request.build();
  }

  private Route route(String base) {
    Route.Builder route = Route.newBuilder();
    switch (random.nextInt(3)) {
      case 0 -> route.setPath(PathMatch.newBuilder().setPrefix(base + "/" + word()));
      case 1 -> route.setPath(PathMatch.newBuilder().setExact(base + "/" + word()));
      default -> route.setPath(PathMatch.newBuilder().setRegex(base + "/" + regex()));
    }
    if (random.nextInt(4) == 0) {
      route.addHosts(pick(VHOSTS));
    }
    if (random.nextInt(4) == 0) {
      HeaderMatch.Builder header = HeaderMatch.newBuilder().setName(pick(HEADER_NAMES));
      switch (random.nextInt(4)) {
        case 0 -> header.setExact(word());
        case 1 -> header.setPrefix(word());
        case 2 -> header.setRegex(regex());
        default -> header.setPresent(random.nextBoolean());
      }
      route.addHeaders(header.setInvert(random.nextInt(5) == 0));
    }
    if (random.nextInt(5) == 0) {
      route.addMethods(pick(List.of("GET", "POST", "get", "BREW", "", "DELETE")));
    }
    if (random.nextInt(5) == 0) {
      route.setPrefixRewrite(pick(List.of("/", "/v2", "", "no-slash", "/a b", "/%00")));
    }
    if (random.nextInt(6) == 0) {
      route.setTimeout(Duration.newBuilder().setSeconds(random.nextInt(4000) - 10));
    }
    if (random.nextInt(6) == 0) {
      route.setRateLimit(
          RateLimitPolicy.newBuilder()
              .setRequests(random.nextInt(2000) - 5)
              .setUnit(RateLimitPolicy.Unit.forNumber(random.nextInt(4)))
              .setScope(RateLimitPolicy.Scope.forNumber(random.nextInt(3)))
              .setPerHeader(random.nextBoolean() ? "" : pick(HEADER_NAMES))
              .setPerClientIp(random.nextInt(4) == 0));
    }
    if (random.nextInt(8) == 0) {
      route.setAuth(AuthPolicy.newBuilder().setProvider(pick(List.of("nobody", "", "demo"))));
    }
    route.setPublic(random.nextInt(6) == 0);
    return route.build();
  }

  private RegisterRequest hostile() {
    String service = random.nextBoolean() ? "fz-" + counter : pick(SERVICE_NAMES);
    RegisterRequest.Builder request =
        RegisterRequest.newBuilder()
            .setService(service)
            .setInstance(
                Instance.newBuilder()
                    .setId(
                        random.nextBoolean()
                            ? "h-1"
                            : pick(List.of("", "a b", "x".repeat(200), "../../etc", "id\nforged")))
                    .setHost(pick(HOSTS))
                    .setPort(pick(List.of(0, 1, 9901, 65535, 65536, 8080)))
                    .setWeight(pick(List.of(0, 1, 128, 129, 100000)))
                    .setZone(pick(List.of("", "eu-west-1a", "zone with space", "z".repeat(300)))));
    int routes = pick(List.of(0, 1, 3, 101, 150));
    for (int i = 0; i < routes; i++) {
      request.addRoutes(
          switch (random.nextInt(4)) {
            case 0 ->
                Route.newBuilder()
                    .setPath(
                        PathMatch.newBuilder()
                            .setRegex(
                                pick(
                                    List.of(
                                        "/.*",
                                        "((a{1000}){1000}){1000}",
                                        "/" + regex() + regex() + regex(),
                                        "(?s).*",
                                        "/[\\x00-\\xff]+"))))
                    .build();
            case 1 ->
                Route.newBuilder()
                    .setPath(
                        PathMatch.newBuilder()
                            .setPrefix(
                                pick(
                                    List.of(
                                        "/",
                                        "/orders",
                                        "no-slash",
                                        "/a\u0000b",
                                        "/" + "p".repeat(3000),
                                        "/%2F",
                                        "/a/../b",
                                        "/users/admin"))))
                    .build();
            case 2 ->
                Route.newBuilder()
                    .setPath(
                        PathMatch.newBuilder()
                            .setExact(pick(List.of("/", "/orders/1", "/?q=1", "/#x", "/\r\nX: y"))))
                    .build();
            default -> route("/fz-" + counter);
          });
    }
    if (random.nextInt(3) == 0) {
      request.setLeaseTtl(Duration.newBuilder().setSeconds(pick(List.of(-1L, 0L, 1L, 100_000L))));
    }
    return request.build();
  }

  private RegisterRequest mutated(RegisterRequest valid) {
    RegisterRequest.Builder request = valid.toBuilder();
    switch (random.nextInt(6)) {
      case 0 -> request.setService(pick(SERVICE_NAMES));
      case 1 -> request.getInstanceBuilder().setHost(pick(HOSTS));
      case 2 -> request.getInstanceBuilder().setPort(random.nextInt(70000));
      case 3 -> request.getInstanceBuilder().putMetadata(word(), "v".repeat(random.nextInt(400)));
      case 4 ->
          request.addRoutes(
              Route.newBuilder().setPath(PathMatch.newBuilder().setRegex("/" + regex())));
      default -> request.setAuth(AuthPolicy.newBuilder().setProvider(word()));
    }
    return request.build();
  }

  private String regex() {
    StringBuilder regex = new StringBuilder();
    int parts = 1 + random.nextInt(4);
    for (int i = 0; i < parts; i++) {
      regex.append(pick(REGEX_PARTS));
    }
    return regex.toString();
  }

  private String word() {
    String alphabet = "abcxyz019-_.~%/ ";
    StringBuilder word = new StringBuilder();
    int length = 1 + random.nextInt(10);
    for (int i = 0; i < length; i++) {
      word.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    return word.toString();
  }

  private <T> T pick(List<T> values) {
    return values.get(random.nextInt(values.size()));
  }
}
