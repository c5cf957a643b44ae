/**
 * Publishing translated resources to Envoy: content-hashed snapshots per node group, the single
 * pipeline thread that coalesces registry changes into snapshots, and the guards around
 * java-control-plane's cache (NACK handling, group discovery).
 */
package io.signalbox.xds;
