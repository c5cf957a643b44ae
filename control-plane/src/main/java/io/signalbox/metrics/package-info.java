/**
 * Prometheus metrics: {@link io.signalbox.metrics.SignalboxMetrics} holds every meter
 * (registrations, leases, snapshot builds, pushes, ACK latency, NACKs, connected proxies, settings
 * reloads, rate-limit decisions, and the JVM's), and {@link io.signalbox.metrics.MetricsServer}
 * serves them at {@code /metrics} on a port of its own. The stages report events through one call
 * each; none of them reads a meter.
 */
package io.signalbox.metrics;
