package io.signalbox.registry;

import com.google.common.net.InetAddresses;
import java.net.InetAddress;
import java.util.Objects;

/** An IP range: an address and a prefix length, {@code 10.0.0.0/8} or {@code fe80::/10}. */
public record Cidr(InetAddress network, int prefixLength) {

  public Cidr {
    Objects.requireNonNull(network, "network");
    int bits = network.getAddress().length * 8;
    if (prefixLength < 0 || prefixLength > bits) {
      throw new IllegalArgumentException(
          "prefix length " + prefixLength + " is out of range 0-" + bits);
    }
  }

  /**
   * @throws IllegalArgumentException naming what is wrong with {@code text}
   */
  public static Cidr parse(String text) {
    int slash = text.indexOf('/');
    String address = slash < 0 ? text : text.substring(0, slash);
    if (!InetAddresses.isInetAddress(address)) {
      throw new IllegalArgumentException("'" + text + "' is not an IP address or CIDR range");
    }
    InetAddress network = InetAddresses.forString(address);
    int bits = network.getAddress().length * 8;
    int prefix;
    try {
      prefix = slash < 0 ? bits : Integer.parseInt(text.substring(slash + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + text + "' has no valid prefix length");
    }
    if (prefix < 0 || prefix > bits) {
      throw new IllegalArgumentException(
          "'" + text + "' has a prefix length out of range 0-" + bits);
    }
    return new Cidr(network, prefix);
  }

  public boolean contains(InetAddress address) {
    byte[] range = network.getAddress();
    byte[] candidate = address.getAddress();
    if (range.length != candidate.length) {
      return false;
    }
    int full = prefixLength / 8;
    for (int i = 0; i < full; i++) {
      if (range[i] != candidate[i]) {
        return false;
      }
    }
    int rest = prefixLength % 8;
    if (rest == 0) {
      return true;
    }
    int mask = (0xff << (8 - rest)) & 0xff;
    return (range[full] & mask) == (candidate[full] & mask);
  }

  @Override
  public String toString() {
    return InetAddresses.toAddrString(network) + "/" + prefixLength;
  }
}
