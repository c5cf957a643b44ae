/**
 * Mutual TLS from PEM files that are replaced while the process runs: {@link
 * io.signalbox.tls.TlsFileReloader} keeps a key manager and a trust manager up to date with {@link
 * io.signalbox.tls.TlsFiles}, for the control plane's server ports and for the registry SDK alike,
 * so a rotated certificate serves new connections within seconds. {@link io.signalbox.tls.KeyMatch}
 * tells whether a private key belongs to a certificate.
 *
 * <p>A leaf package: it depends on no other Signalbox package.
 */
package io.signalbox.tls;
