/**
 * Mutual TLS from PEM files that are replaced while the process runs: {@link
 * io.signalbox.tls.TlsFileReloader} keeps a key manager and a trust manager up to date with {@link
 * io.signalbox.tls.TlsFiles}, for the control plane's server ports and for the registry SDK alike,
 * so a rotated certificate serves new connections within seconds. {@link io.signalbox.tls.KeyMatch}
 * tells whether a private key belongs to a certificate.
 *
 * <p>The SDK uses it through {@link io.signalbox.client.RegistryClient.Builder#mutualTls}; it is
 * public for services that serve mutual TLS from the same files.
 *
 * <p>A leaf package: it depends on no other Signalbox package. It is {@link
 * org.jspecify.annotations.NullMarked}: nothing is null unless annotated {@link
 * org.jspecify.annotations.Nullable}.
 */
@NullMarked
package io.signalbox.tls;

import org.jspecify.annotations.NullMarked;
