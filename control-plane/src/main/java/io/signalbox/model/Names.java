package io.signalbox.model;

import java.util.regex.Pattern;

/**
 * The names Signalbox accepts wherever they come from: a service or a zone named in a registration
 * and one an Envoy declares in its node must follow the same rule to be matched at all, and both
 * are bounded before they are kept.
 */
public final class Names {

  /** A service: a DNS label (it names clusters, hosts and SPIFFE IDs). */
  public static final Pattern SERVICE = Pattern.compile("[a-z]([a-z0-9-]{0,61}[a-z0-9])?");

  /** A zone: at most 63 letters, digits, '.', '_' and '-' (Kubernetes topology labels fit). */
  public static final Pattern ZONE = Pattern.compile("[A-Za-z0-9._-]{0,63}");

  /**
   * A fleet of Envoys (their {@code node.cluster}, before any zone), as access rules name it:
   * letters, digits, '.', '_', ':' and '-', at most 128.
   */
  public static final Pattern FLEET = Pattern.compile("[A-Za-z0-9._:-]{1,128}");

  private Names() {}
}
