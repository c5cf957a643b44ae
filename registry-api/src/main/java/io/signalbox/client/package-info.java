/**
 * The Java SDK of Signalbox: a service instance registers itself with the control plane, names the
 * routes it wants the Envoy gateway to serve, and stays registered for as long as it runs.
 *
 * <h2>Registering</h2>
 *
 * A {@link io.signalbox.client.RegistryClient} holds one gRPC channel to the control plane's
 * registry port. {@link io.signalbox.client.RegistryClient#register register} sends one {@link
 * io.signalbox.client.ServiceRegistration} (the service, the instance's id, host and port, its
 * routes and policies, built from {@link io.signalbox.client.Routes}, {@link
 * io.signalbox.client.AuthSpec} and {@link io.signalbox.client.RateLimitSpec}) and blocks until the
 * control plane accepted it:
 *
 * <pre>{@code
 * RegistryClient client = RegistryClient.connect("localhost:18000");
 * Registration registration = client.register(
 *     ServiceRegistration.builder("orders")
 *         .instance("orders-1", "10.0.0.7", 8080)
 *         .route(Routes.prefix("/orders").methods("GET", "POST"))
 *         .build());
 * }</pre>
 *
 * While the control plane cannot be reached, {@code register} retries with backoff for up to the
 * registration timeout (30 s by default, {@link
 * io.signalbox.client.RegistryClient.Builder#registrationTimeout}), so a service may start before
 * it. A registration the control plane refuses (INVALID_ARGUMENT naming the field, ALREADY_EXISTS,
 * PERMISSION_DENIED) is not retried: it throws {@link io.signalbox.client.RegistrationException},
 * which carries the gRPC status.
 *
 * <h2>Lease keep-alive</h2>
 *
 * The control plane grants each instance a lease with a TTL (its default, 10 s unless the operator
 * set another, or what the registration asks for with {@link
 * io.signalbox.client.ServiceRegistration.Builder#leaseTtl}); an instance whose lease expires is
 * removed from Envoy. The returned {@link io.signalbox.client.Registration} keeps the lease alive
 * in the background, on the client's single daemon thread, over one KeepAlive stream with three
 * keep-alives per TTL, so one lost message never costs the lease. A broken stream is reopened with
 * backoff (100 ms doubling to 5 s, with jitter; {@link
 * io.signalbox.client.RegistryClient.Builder#reconnectBackoff}).
 *
 * <h2>Re-registration</h2>
 *
 * When the lease is lost (it expired while the control plane was unreachable, or a restarted
 * control plane never knew it, or nothing was heard for a whole TTL) the instance registers again
 * by itself, with the same registration, and retries until it succeeds; {@link
 * io.signalbox.client.Registration#leaseId()} then names the new lease. A {@link
 * io.signalbox.client.RegistrationListener} passed to {@code register} is told of each
 * re-registration and each failed attempt. A status reported with {@link
 * io.signalbox.client.Registration#setServing(boolean)} holds across re-registrations.
 *
 * <h2>Shutdown and deregistration</h2>
 *
 * {@link io.signalbox.client.Registration#close()} stops the keep-alive and deregisters the
 * instance, waiting at most about two seconds for the control plane; if it cannot be reached the
 * lease simply expires. {@link io.signalbox.client.RegistryClient#close()} closes every
 * registration still open and releases the channel. A JVM shutdown hook (on by default, {@link
 * io.signalbox.client.RegistryClient.Builder#shutdownHook}) deregisters whatever is still
 * registered when the process exits, so a service stopped with SIGTERM or Ctrl-C leaves the gateway
 * at once rather than after its TTL. To drain first, report {@code setServing(false)}, wait for
 * in-flight requests, then close.
 *
 * <h2>TLS</h2>
 *
 * A control plane runs mutual TLS by default. {@link
 * io.signalbox.client.RegistryClient.Builder#mutualTls} takes the service's certificate chain, its
 * private key and the CA bundle as PEM files (as {@code signalbox ca issue} writes them); the
 * certificate names the service (URI SAN {@code spiffe://signalbox.local/service/NAME}), and the
 * control plane's certificate must chain to the CA bundle and name the host dialled. The files are
 * re-read every second by {@link io.signalbox.tls.TlsFileReloader}, so a rotated certificate is
 * presented on new connections without restarting the service. Plaintext ({@link
 * io.signalbox.client.RegistryClient#connect}) is only accepted by a control plane run with {@code
 * --insecure-plaintext}.
 *
 * <h2>Nullness</h2>
 *
 * The package is {@link org.jspecify.annotations.NullMarked}: no parameter or return value is null
 * unless annotated {@link org.jspecify.annotations.Nullable}. Absent values are {@link
 * java.util.Optional} or empty strings, as in the wire form.
 */
@NullMarked
package io.signalbox.client;

import org.jspecify.annotations.NullMarked;
