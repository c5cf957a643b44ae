/**
 * Signalbox's built-in rate-limit service: Envoy's {@code
 * envoy.service.ratelimit.v3.RateLimitService}, served on the control plane's gRPC server, so that
 * fleet-wide limits need no Redis and no extra server.
 *
 * <p>The service keeps no configuration of its own. Every descriptor Envoy sends carries its limit
 * (see {@link io.signalbox.ratelimit.DescriptorLimit}), put there by the translator from the
 * registration; the service counts hits per full descriptor (under its digest, {@link
 * io.signalbox.ratelimit.CounterKey}) in fixed windows aligned to the limit's unit ({@link
 * io.signalbox.ratelimit.FixedWindowCounters}, bounded in bytes). Envoy's configuration and the
 * service can therefore never disagree, and a changed limit is a new descriptor with a fresh count.
 * What it cannot count (no room for a new key) it answers with an error, so Envoy applies the
 * route's failure mode; it never answers OK for a request it did not count.
 *
 * <p>Counters live in this one control-plane process: Envoys of every group share them, but several
 * control-plane replicas would each count on their own (each would allow the limit). Restarting the
 * control plane starts every window afresh.
 */
package io.signalbox.ratelimit;
