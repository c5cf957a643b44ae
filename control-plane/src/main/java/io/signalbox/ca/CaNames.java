package io.signalbox.ca;

import com.google.common.net.InetAddresses;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Checks what {@code signalbox ca} is asked to write into certificates and file names; every
 * refusal names the flag and says what would be accepted.
 */
final class CaNames {

  /** Lowercase DNS-like trust domain, as SPIFFE requires. */
  private static final Pattern TRUST_DOMAIN =
      Pattern.compile("[a-z0-9]([a-z0-9_-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9_-]*[a-z0-9])?)*");

  /**
   * A SPIFFE path: one or more segments of letters, digits, '.', '-' and '_', none of them '.' or
   * '..'.
   */
  private static final Pattern SPIFFE_PATH = Pattern.compile("(/[A-Za-z0-9._-]+)+");

  private static final Pattern DNS_NAME =
      Pattern.compile(
          "(\\*\\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*");

  /** A file name stem: no directories, no hidden files. */
  private static final Pattern FILE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");

  /** What a peer carries as its identity at most (the control plane refuses longer ones). */
  private static final int MAX_IDENTITY_LENGTH = 512;

  private CaNames() {}

  static String trustDomain(String value) {
    if (!TRUST_DOMAIN.matcher(value).matches() || value.length() > 255) {
      throw new IllegalArgumentException(
          "--trust-domain: '"
              + value
              + "' is not a trust domain (lowercase letters, "
              + "digits, '-', '_' and dots, e.g. signalbox.local)");
    }
    return value;
  }

  /**
   * A SPIFFE ID in the CA's trust domain, e.g. {@code spiffe://signalbox.local/service/orders}.
   *
   * @param trustDomain the CA's trust domain, or null when its certificate names none (then any is
   *     accepted)
   */
  static String identity(String value, String trustDomain) {
    String example =
        "spiffe://" + (trustDomain != null ? trustDomain : "signalbox.local") + "/service/NAME";
    if (!value.startsWith("spiffe://")) {
      throw new IllegalArgumentException(
          "--identity: '" + value + "' is not a SPIFFE ID (e.g. " + example + ")");
    }
    String rest = value.substring("spiffe://".length());
    int slash = rest.indexOf('/');
    String domain = slash < 0 ? rest : rest.substring(0, slash);
    String path = slash < 0 ? "" : rest.substring(slash);
    if (!TRUST_DOMAIN.matcher(domain).matches()
        || !SPIFFE_PATH.matcher(path).matches()
        || path.contains("/./")
        || path.contains("/../")
        || path.endsWith("/.")
        || path.endsWith("/..")
        || value.length() > MAX_IDENTITY_LENGTH) {
      throw new IllegalArgumentException(
          "--identity: '"
              + value
              + "' is not a SPIFFE ID: spiffe://TRUST-DOMAIN "
              + "followed by a path of letters, digits, '.', '-' and '_' (e.g. "
              + example
              + ")");
    }
    if (trustDomain != null && !trustDomain.equals(domain)) {
      throw new IllegalArgumentException(
          "--identity: '"
              + value
              + "' lies outside the CA's trust domain '"
              + trustDomain
              + "' (e.g. "
              + example
              + ")");
    }
    return value;
  }

  static String dnsName(String value) {
    String name = value.toLowerCase(Locale.ROOT);
    if (InetAddresses.isInetAddress(value)) {
      throw new IllegalArgumentException(
          "--dns: '" + value + "' is an IP address; give it with --ip");
    }
    if (!DNS_NAME.matcher(name).matches() || name.length() > 253) {
      throw new IllegalArgumentException(
          "--dns: '" + value + "' is not a DNS name (e.g. signalbox.signalbox.local)");
    }
    return name;
  }

  static String ipAddress(String value) {
    if (!InetAddresses.isInetAddress(value)) {
      throw new IllegalArgumentException(
          "--ip: '" + value + "' is not an IP address (e.g. 127.0.0.1 or ::1)");
    }
    return InetAddresses.toAddrString(InetAddresses.forString(value));
  }

  /**
   * NAME of NAME.pem and NAME-key.pem: neither the CA's files nor another certificate's key file.
   */
  static String fileName(String value) {
    if (!FILE_NAME.matcher(value).matches()) {
      throw new IllegalArgumentException(
          "--name: '"
              + value
              + "' is not a file name (letters, digits, '.', '-', "
              + "'_'; no directories), e.g. orders");
    }
    if (value.equals("ca") || value.equals("ca-key")) {
      throw new IllegalArgumentException(
          "--name: '" + value + "' would write over the CA's own files; choose " + "another name");
    }
    if (value.endsWith("-key")) {
      throw new IllegalArgumentException(
          "--name: '"
              + value
              + "' would write over the key file of '"
              + value.substring(0, value.length() - "-key".length())
              + "'; choose another name");
    }
    return value;
  }
}
