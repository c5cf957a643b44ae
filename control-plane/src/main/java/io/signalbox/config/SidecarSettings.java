package io.signalbox.config;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * What every sidecar Envoy is given besides its service's inbound listeners: the outbound listener
 * its application calls other services through ({@code http://users/...} sent to this address).
 *
 * @param outboundAddress an IP literal, loopback by default: only the application beside the
 *     sidecar may call out through it
 * @param certificateValidity how long a workload certificate is valid (1 h by default); it is
 *     issued again once half of that has passed
 * @param outboundPortsByService the outbound port of the sidecars of some services, where several
 *     services share a host (and so a loopback address) and each needs a port of its own
 * @param ca the operator's mesh CA, which signs the workload certificates; empty for one made in
 *     memory when the control plane starts (replicas on etcd need the operator's, so that they
 *     agree)
 * @param domain the mesh's DNS domain, under which a service is also called ({@code
 *     users.svc.example.com} as well as {@code users}); empty when services go by name alone
 */
public record SidecarSettings(
    String outboundAddress,
    int outboundPort,
    Duration certificateValidity,
    Map<String, Integer> outboundPortsByService,
    java.util.Optional<io.signalbox.ca.CertificateAuthority> ca,
    java.util.Optional<String> domain) {

  /** Without a mesh domain: services are called by name. */
  public SidecarSettings(
      String outboundAddress,
      int outboundPort,
      Duration certificateValidity,
      Map<String, Integer> outboundPortsByService,
      java.util.Optional<io.signalbox.ca.CertificateAuthority> ca) {
    this(
        outboundAddress,
        outboundPort,
        certificateValidity,
        outboundPortsByService,
        ca,
        java.util.Optional.empty());
  }

  /** These settings with services also called under {@code domain}. */
  public SidecarSettings withDomain(String domain) {
    return new SidecarSettings(
        outboundAddress,
        outboundPort,
        certificateValidity,
        outboundPortsByService,
        ca,
        java.util.Optional.of(domain));
  }

  /** 127.0.0.1:15001, Istio's outbound port; certificates valid for an hour. */
  public static final SidecarSettings DEFAULT =
      new SidecarSettings(
          "127.0.0.1", 15001, Duration.ofHours(1), Map.of(), java.util.Optional.empty());

  /** The outbound listener on {@code address:port}, certificates as by default. */
  public SidecarSettings(String outboundAddress, int outboundPort) {
    this(outboundAddress, outboundPort, DEFAULT.certificateValidity(), Map.of());
  }

  /** A mesh CA made in memory. */
  public SidecarSettings(
      String outboundAddress,
      int outboundPort,
      Duration certificateValidity,
      Map<String, Integer> outboundPortsByService) {
    this(
        outboundAddress,
        outboundPort,
        certificateValidity,
        outboundPortsByService,
        java.util.Optional.empty());
  }

  /** Leaves room for a service name (63) and its dot within a DNS name's 253 characters. */
  static final int MAX_MESH_DOMAIN_LENGTH = 189;

  /** A DNS domain of lower-case labels a service name and a dot can go before. */
  static boolean isMeshDomain(String name) {
    return name.length() <= MAX_MESH_DOMAIN_LENGTH
        && io.signalbox.registry.RegistrationRules.isLowerCaseDnsName(name);
  }

  /** The outbound port of the sidecars of {@code service}. */
  public int outboundPort(String service) {
    return outboundPortsByService.getOrDefault(service, outboundPort);
  }

  public SidecarSettings {
    Objects.requireNonNull(outboundAddress, "outboundAddress");
    if (outboundPort < 1 || outboundPort > 65535) {
      throw new IllegalArgumentException("outboundPort " + outboundPort + " is not a port");
    }
    outboundPortsByService =
        java.util.Collections.unmodifiableSortedMap(new TreeMap<>(outboundPortsByService));
    Objects.requireNonNull(ca, "ca");
    Objects.requireNonNull(domain, "domain");
    domain.ifPresent(
        name -> {
          if (!isMeshDomain(name)) {
            throw new IllegalArgumentException("domain '" + name + "' is not a mesh domain");
          }
        });
    if (certificateValidity.compareTo(Duration.ofSeconds(2)) < 0) {
      throw new IllegalArgumentException(
          "certificateValidity " + certificateValidity + " is shorter than 2 s");
    }
  }
}
