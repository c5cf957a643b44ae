/**
 * The registry store: registrations with leases, behind {@link io.signalbox.store.RegistryStore}.
 * It owns the rules that span registrations (route ownership between services, lease expiry) and
 * publishes immutable {@link io.signalbox.model.RegistryState} views to the translation pipeline.
 */
package io.signalbox.store;
