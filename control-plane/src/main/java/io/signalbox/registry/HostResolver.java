package io.signalbox.registry;

import com.google.common.net.InetAddresses;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Optional;

/**
 * Turns a registered host into the IP address Envoy connects to. EDS endpoints must be IP addresses, so a DNS name
 * is resolved once, when the instance registers (a self-registering service knows where it runs).
 */
@FunctionalInterface
public interface HostResolver {

  /** The address as text, or empty when the name does not resolve. */
  Optional<String> resolve(String host);

  /** IP literals as they are; names through the system resolver. */
  static HostResolver system() {
    return host -> {
      if (InetAddresses.isInetAddress(host)) {
        return Optional.of(InetAddresses.toAddrString(InetAddresses.forString(host)));
      }
      try {
        return Optional.of(InetAddresses.toAddrString(InetAddress.getByName(host)));
      } catch (UnknownHostException e) {
        return Optional.empty();
      }
    };
  }
}
