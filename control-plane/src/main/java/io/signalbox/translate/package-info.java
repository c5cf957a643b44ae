/**
 * Registry state to Envoy resources. Pure functions: the same {@link
 * io.signalbox.model.RegistryState} always gives the same {@link
 * io.signalbox.translate.XdsResources}, byte for byte, with every list sorted. One translator per
 * resource type; every resource name comes from {@link io.signalbox.translate.XdsNames}.
 */
package io.signalbox.translate;
