package io.signalbox.ca;

import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import javax.security.auth.x500.X500Principal;

/**
 * What a certificate issued by a {@link CertificateAuthority} says.
 *
 * @param subject its subject (the common name is only a label: peers are identified by the URI SAN)
 * @param serial its serial number; empty for a random one
 * @param uris URI subject alternative names, such as the SPIFFE ID {@code
 *     spiffe://signalbox.local/service/orders}
 * @param dnsNames DNS subject alternative names: the host names a server is dialled by
 * @param ipAddresses IP address subject alternative names, written as such ({@code 127.0.0.1},
 *     {@code ::1})
 * @param usages what it may authenticate: server, client, or both
 * @param validity how long it is valid from now (never beyond its CA)
 */
public record CertificateRequest(
    X500Principal subject,
    Optional<BigInteger> serial,
    List<String> uris,
    List<String> dnsNames,
    List<String> ipAddresses,
    Set<CertificateUsage> usages,
    Duration validity) {

  public CertificateRequest {
    Objects.requireNonNull(subject, "subject");
    Objects.requireNonNull(serial, "serial");
    uris = List.copyOf(uris);
    dnsNames = List.copyOf(dnsNames);
    ipAddresses = List.copyOf(ipAddresses);
    usages = Set.copyOf(usages);
    Objects.requireNonNull(validity, "validity");
    if (usages.isEmpty()) {
      throw new IllegalArgumentException("a certificate needs a usage (server, client or both)");
    }
    if (validity.isNegative() || validity.isZero()) {
      throw new IllegalArgumentException("validity must be positive: " + validity);
    }
    if (serial.isPresent() && serial.get().signum() <= 0) {
      throw new IllegalArgumentException("a serial number must be positive: " + serial.get());
    }
  }

  /** A request for a certificate whose subject's common name is {@code commonName}. */
  public static Builder builder(String commonName) {
    return new Builder(new X500Principal("CN=" + commonName));
  }

  public static Builder builder(X500Principal subject) {
    return new Builder(subject);
  }

  public static final class Builder {
    private final X500Principal subject;
    private BigInteger serial;
    private final List<String> uris = new ArrayList<>();
    private final List<String> dnsNames = new ArrayList<>();
    private final List<String> ipAddresses = new ArrayList<>();
    private final Set<CertificateUsage> usages = EnumSet.noneOf(CertificateUsage.class);
    private Duration validity = Duration.ofDays(90);

    private Builder(X500Principal subject) {
      this.subject = Objects.requireNonNull(subject, "subject");
    }

    public Builder serial(BigInteger serial) {
      this.serial = Objects.requireNonNull(serial, "serial");
      return this;
    }

    public Builder uri(String uri) {
      uris.add(Objects.requireNonNull(uri, "uri"));
      return this;
    }

    public Builder dnsName(String dnsName) {
      dnsNames.add(Objects.requireNonNull(dnsName, "dnsName"));
      return this;
    }

    public Builder ipAddress(String ipAddress) {
      ipAddresses.add(Objects.requireNonNull(ipAddress, "ipAddress"));
      return this;
    }

    public Builder usage(CertificateUsage... more) {
      usages.addAll(List.of(more));
      return this;
    }

    /** Default 90 days. */
    public Builder validity(Duration validity) {
      this.validity = Objects.requireNonNull(validity, "validity");
      return this;
    }

    public CertificateRequest build() {
      return new CertificateRequest(
          subject, Optional.ofNullable(serial), uris, dnsNames, ipAddresses, usages, validity);
    }
  }
}
