/**
 * The registry gRPC API: validates what services send, turns it into {@link io.signalbox.model}
 * records and hands them to the {@link io.signalbox.store.RegistryStore}. Nothing here builds Envoy
 * resources.
 */
package io.signalbox.registry;
