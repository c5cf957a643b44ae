/**
 * {@code signalbox ca}: a development certificate authority. {@link
 * io.signalbox.ca.CertificateAuthority} makes an EC P-256 CA and issues TLS server/client
 * certificates with SPIFFE URI, DNS and IP subject alternative names; {@link
 * io.signalbox.ca.CaDirectory} keeps them as PEM files (keys owner-only); {@link
 * io.signalbox.ca.CaCommand} is the command line. The tests' certificate authorities are made with
 * the same classes.
 *
 * <p>It depends only on {@code io.signalbox.security}, to read a certificate's identity as the
 * control plane reads it, and on the SDK's {@code io.signalbox.tls}.
 */
package io.signalbox.ca;
