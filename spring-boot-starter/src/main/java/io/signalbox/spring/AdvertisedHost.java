package io.signalbox.spring;

import java.io.UncheckedIOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.util.Comparator;
import java.util.Optional;

/**
 * The address Envoy is told to send this instance's requests to, when the configuration names none.
 * A web server bound to one address ({@code server.address}) can only be reached there; otherwise
 * the first non-loopback IPv4 address of an interface that is up, by interface index (in a
 * container or VM, its own network interface), which is what a peer on the same network dials.
 */
final class AdvertisedHost {

  private AdvertisedHost() {}

  static String resolve(String configured, String serverAddress) {
    if (configured != null && !configured.isBlank()) {
      return configured;
    }
    if (serverAddress != null && !serverAddress.isBlank() && !isWildcard(serverAddress)) {
      return serverAddress;
    }
    return firstNonLoopbackIpv4().orElseGet(AdvertisedHost::localHost);
  }

  private static boolean isWildcard(String address) {
    return address.equals("0.0.0.0") || address.equals("::") || address.equals("[::]");
  }

  private static Optional<String> firstNonLoopbackIpv4() {
    try {
      return NetworkInterface.networkInterfaces()
          .filter(AdvertisedHost::isUsable)
          .sorted(Comparator.comparingInt(NetworkInterface::getIndex))
          .flatMap(NetworkInterface::inetAddresses)
          .filter(address -> address instanceof Inet4Address)
          .filter(address -> !address.isLoopbackAddress() && !address.isLinkLocalAddress())
          .map(InetAddress::getHostAddress)
          .findFirst();
    } catch (SocketException e) {
      return Optional.empty();
    }
  }

  private static boolean isUsable(NetworkInterface networkInterface) {
    try {
      return networkInterface.isUp() && !networkInterface.isLoopback();
    } catch (SocketException e) {
      return false;
    }
  }

  private static String localHost() {
    try {
      return InetAddress.getLocalHost().getHostAddress();
    } catch (UnknownHostException e) {
      throw new UncheckedIOException(
          "signalbox.advertised-host is not set and this host has no usable address;"
              + " set it to the address Envoy should send requests to",
          e);
    }
  }
}
