package io.signalbox.registry;

import com.google.common.net.InetAddresses;
import java.net.InetAddress;
import java.util.List;
import java.util.Set;

/**
 * Where a registered instance may point. An instance is a request from anyone with registry access
 * to make the gateway connect somewhere; without this policy a registration could route the public
 * to the gateway host's own services (Envoy's admin: {@code /quitquitquit}), to cloud metadata at
 * 169.254.169.254, or to the control plane.
 *
 * <p>Refused by default: loopback, link-local, unspecified and multicast addresses (unless {@code
 * allowed} holds them), anything in {@code denied}, and the ports in {@code deniedPorts} (Envoy's
 * admin port 9901) on any address. The control plane's own ports on the gateway's host are refused
 * even when loopback is allowed.
 *
 * @param allowed ranges allowed although they are special (a development machine allows
 *     127.0.0.0/8)
 * @param denied ranges refused besides the special ones
 * @param deniedPorts ports refused on every address
 */
public record UpstreamAddressPolicy(
    List<Cidr> allowed, List<Cidr> denied, Set<Integer> deniedPorts) {

  /** Envoy's conventional admin port. */
  public static final int ENVOY_ADMIN_PORT = 9901;

  public static final UpstreamAddressPolicy DEFAULT =
      new UpstreamAddressPolicy(List.of(), List.of(), Set.of(ENVOY_ADMIN_PORT));

  private record SpecialRange(Cidr range, String kind) {}

  private static final List<SpecialRange> SPECIAL =
      List.of(
          new SpecialRange(Cidr.parse("127.0.0.0/8"), "a loopback address"),
          new SpecialRange(Cidr.parse("::1/128"), "a loopback address"),
          new SpecialRange(
              Cidr.parse("169.254.0.0/16"), "a link-local address (cloud metadata lives there)"),
          new SpecialRange(Cidr.parse("fe80::/10"), "a link-local address"),
          new SpecialRange(Cidr.parse("0.0.0.0/8"), "an unspecified address"),
          new SpecialRange(Cidr.parse("::/128"), "an unspecified address"),
          new SpecialRange(Cidr.parse("224.0.0.0/4"), "a multicast address"),
          new SpecialRange(Cidr.parse("ff00::/8"), "a multicast address"));

  public UpstreamAddressPolicy {
    allowed = List.copyOf(allowed);
    denied = List.copyOf(denied);
    deniedPorts = Set.copyOf(deniedPorts);
  }

  /** This policy with {@code ranges} allowed as well. */
  public UpstreamAddressPolicy allowing(String... ranges) {
    List<Cidr> more = new java.util.ArrayList<>(allowed);
    for (String range : ranges) {
      more.add(Cidr.parse(range));
    }
    return new UpstreamAddressPolicy(more, denied, deniedPorts);
  }

  /**
   * Checks that an instance at {@code address}:{@code port} may be registered.
   *
   * @param controlPlanePorts the control plane's own ports, refused on the gateway's host
   * @throws InvalidFieldException naming {@code instance.host} or {@code instance.port} and why
   */
  public void check(String address, int port, Set<Integer> controlPlanePorts) {
    InetAddress ip = InetAddresses.forString(address);
    String shown = InetAddresses.toAddrString(ip);
    if (deniedPorts.contains(port)) {
      throw new InvalidFieldException(
          "instance.port",
          port
              + " is refused by upstreams.denyPorts "
              + sorted(deniedPorts)
              + " ("
              + ENVOY_ADMIN_PORT
              + " is Envoy's admin port)");
    }
    for (Cidr range : denied) {
      if (range.contains(ip)) {
        throw new InvalidFieldException(
            "instance.host", shown + " is in " + range + ", which upstreams.denyCidrs refuses");
      }
    }
    boolean local = ip.isLoopbackAddress() || ip.isAnyLocalAddress();
    if (local && controlPlanePorts.contains(port)) {
      throw new InvalidFieldException(
          "instance.port", shown + ":" + port + " is the control plane itself");
    }
    for (SpecialRange special : SPECIAL) {
      if (special.range().contains(ip) && allowed.stream().noneMatch(range -> range.contains(ip))) {
        throw new InvalidFieldException(
            "instance.host",
            shown
                + " is "
                + special.kind()
                + ", where the gateway must not "
                + "send requests; an operator can allow it with upstreams.allowCidrs");
      }
    }
  }

  private static List<Integer> sorted(Set<Integer> ports) {
    return ports.stream().sorted().toList();
  }
}
