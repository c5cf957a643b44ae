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

  private Names() {}
}
