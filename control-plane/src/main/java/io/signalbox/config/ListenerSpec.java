package io.signalbox.config;

import java.util.Objects;

/**
 * A port Envoy listens on for client traffic.
 *
 * @param name listener name, also its stats prefix
 * @param redirectToHttps (plaintext only) answer every request with a redirect to the first HTTPS
 *     listener
 * @param minTlsVersion (TLS only) the oldest protocol version accepted
 */
public record ListenerSpec(
    String name,
    String address,
    int port,
    Protocol protocol,
    boolean redirectToHttps,
    TlsVersion minTlsVersion) {

  public ListenerSpec {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(address, "address");
    Objects.requireNonNull(protocol, "protocol");
    Objects.requireNonNull(minTlsVersion, "minTlsVersion");
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("listener port " + port + " is out of range 1-65535");
    }
  }

  public static ListenerSpec http(String name, String address, int port) {
    return new ListenerSpec(name, address, port, Protocol.HTTP, false, TlsVersion.TLS_1_2);
  }

  public static ListenerSpec https(String name, String address, int port) {
    return new ListenerSpec(name, address, port, Protocol.HTTPS, false, TlsVersion.TLS_1_2);
  }

  public ListenerSpec withPort(int newPort) {
    return new ListenerSpec(name, address, newPort, protocol, redirectToHttps, minTlsVersion);
  }

  public ListenerSpec withAddress(String newAddress) {
    return new ListenerSpec(name, newAddress, port, protocol, redirectToHttps, minTlsVersion);
  }

  public ListenerSpec withRedirectToHttps(boolean redirect) {
    return new ListenerSpec(name, address, port, protocol, redirect, minTlsVersion);
  }

  public ListenerSpec withMinTlsVersion(TlsVersion version) {
    return new ListenerSpec(name, address, port, protocol, redirectToHttps, version);
  }

  public enum Protocol {
    HTTP,
    HTTPS
  }

  public enum TlsVersion {
    TLS_1_2,
    TLS_1_3
  }
}
