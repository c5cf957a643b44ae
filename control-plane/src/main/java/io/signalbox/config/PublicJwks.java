package io.signalbox.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.Map;

/**
 * Checks a JWKS the settings hold (inline or in a file) before it reaches a listener: only public
 * asymmetric keys.
 *
 * <p>An {@code oct} key is a shared secret: whoever can read the listener (every Envoy, the admin
 * API's snapshots) could sign tokens with it. A private member of an RSA, EC or OKP key (RFC 7518
 * §6.2.2, §6.3.2; RFC 8037) is a signing key that does not belong at a verifier either. Each error
 * names the key and member, e.g. {@code jwtProviders[0].jwks.inline.keys[1].d}, never a value.
 */
final class PublicJwks {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> PRIVATE_MEMBERS =
      List.of("d", "p", "q", "dp", "dq", "qi", "oth", "k");

  /** The members Envoy needs to verify with a key of each type. */
  private static final Map<String, List<String>> PUBLIC_MEMBERS =
      Map.of(
          "RSA", List.of("n", "e"),
          "EC", List.of("crv", "x", "y"),
          "OKP", List.of("crv", "x"));

  private PublicJwks() {}

  /**
   * @param field the path of the document in the settings, e.g. {@code jwtProviders[0].jwks.inline}
   * @throws InvalidSettingsException naming the field and, inside the document, the key and member
   *     at fault
   */
  static void check(String field, String json) {
    if (json == null) {
      throw new InvalidSettingsException(field + ": is required");
    }
    JsonNode document;
    try {
      document = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new InvalidSettingsException(field + ": not JSON: " + e.getOriginalMessage());
    }
    JsonNode keys = document == null ? null : document.path("keys");
    check(
        keys != null && keys.isArray() && !keys.isEmpty(),
        field,
        "a JWKS needs a non-empty \"keys\" array");
    for (int i = 0; i < keys.size(); i++) {
      checkKey(field + ".keys[" + i + "]", keys.get(i));
    }
  }

  private static void checkKey(String field, JsonNode key) {
    check(key.isObject(), field, "is not a JSON object");
    JsonNode type = key.path("kty");
    check(type.isTextual(), field + ".kty", "is required");
    String kty = type.asText();
    check(
        !kty.equals("oct"),
        field + ".kty",
        "'oct' is a shared secret, which would let anyone who reads the"
            + " gateway's configuration sign tokens: only public RSA, EC or OKP keys belong here");
    List<String> required = PUBLIC_MEMBERS.get(kty);
    check(required != null, field + ".kty", "'" + kty + "' is not RSA, EC or OKP");
    for (String member : PRIVATE_MEMBERS) {
      check(
          !key.has(member),
          field + "." + member,
          "is private key material: publish the public key only"
              + " (without d, p, q, dp, dq, qi, oth)");
    }
    for (String member : required) {
      check(
          key.path(member).isTextual(), field + "." + member, "is required for an " + kty + " key");
    }
  }

  private static void check(boolean condition, String field, String message) {
    if (!condition) {
      throw new InvalidSettingsException(field + ": " + message);
    }
  }
}
