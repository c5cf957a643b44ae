/**
 * Who is calling, and what they may do. Every port of the control plane (registry API, xDS,
 * rate-limit service, admin API) speaks mutual TLS unless the operator explicitly runs it in
 * plaintext; {@link io.signalbox.security.IdentityInterceptor} turns the peer's certificate into an
 * {@link io.signalbox.security.Identity} for the call, and {@link
 * io.signalbox.security.AccessControl} answers whether that identity may register a service, join
 * an Envoy node group or use an admin method, from the operator's {@link
 * io.signalbox.security.AccessPolicy}. {@link io.signalbox.security.AuditLog} records who changed
 * what.
 *
 * <p>A leaf package: it depends on no other package of the control plane (only on the SDK's {@code
 * io.signalbox.tls}, whose file reloading it shares), so every stage can ask it.
 */
package io.signalbox.security;
