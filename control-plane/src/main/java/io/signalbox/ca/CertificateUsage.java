package io.signalbox.ca;

import org.bouncycastle.asn1.x509.KeyPurposeId;

/** What a certificate may authenticate in TLS (its extended key usages). */
public enum CertificateUsage {
  /** A TLS server: the control plane's ports, etcd. */
  SERVER(KeyPurposeId.id_kp_serverAuth),
  /**
   * A TLS client: a service registering, an Envoy fetching its configuration, an operator's
   * signalboxctl.
   */
  CLIENT(KeyPurposeId.id_kp_clientAuth);

  private final KeyPurposeId purpose;

  CertificateUsage(KeyPurposeId purpose) {
    this.purpose = purpose;
  }

  KeyPurposeId purpose() {
    return purpose;
  }
}
