/**
 * The admin API ({@code signalbox.admin.v1.Admin}) on its own port: what every Envoy was sent and
 * acknowledged, the published snapshots and their history, the registry as operators see it, and
 * operator actions (drain, evict, pause and resume pushes). It reads the other stages and acts
 * through the store and the publisher; it builds no Envoy resources.
 */
package io.signalbox.admin;
