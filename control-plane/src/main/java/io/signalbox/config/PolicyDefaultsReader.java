package io.signalbox.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.signalbox.model.AuthRequirement;
import io.signalbox.model.RateLimit;
import io.signalbox.registry.InvalidFieldException;
import io.signalbox.registry.PolicyValidator;
import io.signalbox.registry.v1.AuthPolicy;
import io.signalbox.registry.v1.RateLimitPolicy;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Checks {@code defaults:} and builds its {@link PolicyDefaults}: the policies a registration gets
 * when it names none, written as the registry API's messages and checked by the same {@link
 * PolicyValidator} as a registration's.
 */
final class PolicyDefaultsReader {

  private static final ObjectMapper JSON = new ObjectMapper();

  private PolicyDefaultsReader() {}

  static PolicyDefaults read(SettingsFileFormat.Defaults format, Set<String> providers) {
    Optional<AuthRequirement> auth = Optional.empty();
    if (format.auth != null) {
      AuthPolicy proto = proto("defaults.auth", format.auth, AuthPolicy.newBuilder()).build();
      auth = Optional.of(policy(() -> PolicyValidator.auth("defaults.auth", proto, providers)));
    }
    Optional<RateLimit> rateLimit = Optional.empty();
    if (format.rateLimit != null) {
      RateLimitPolicy proto =
          proto("defaults.rateLimit", format.rateLimit, RateLimitPolicy.newBuilder()).build();
      rateLimit = Optional.of(policy(() -> PolicyValidator.rateLimit("defaults.rateLimit", proto)));
    }
    RateLimit.FailureMode failureMode = RateLimit.FailureMode.ALLOW;
    if (format.rateLimitFailureMode != null) {
      failureMode =
          switch (format.rateLimitFailureMode.toLowerCase(Locale.ROOT)) {
            case "allow" -> RateLimit.FailureMode.ALLOW;
            case "deny" -> RateLimit.FailureMode.DENY;
            default ->
                throw new InvalidSettingsException(
                    "defaults.rateLimitFailureMode: '"
                        + format.rateLimitFailureMode
                        + "' is not allow or deny");
          };
    }
    return new PolicyDefaults(auth, rateLimit, failureMode);
  }

  private static <B extends Message.Builder> B proto(String field, JsonNode json, B builder) {
    try {
      JsonFormat.parser().merge(JSON.writeValueAsString(json), builder);
      return builder;
    } catch (InvalidProtocolBufferException | JsonProcessingException e) {
      throw new InvalidSettingsException(field + ": " + e.getMessage());
    }
  }

  private static <T> T policy(java.util.function.Supplier<T> validation) {
    try {
      return validation.get();
    } catch (InvalidFieldException e) {
      // PolicyValidator speaks the registry API's snake_case; the settings file is camelCase.
      throw new InvalidSettingsException(e.getMessage());
    }
  }
}
