/**
 * Envoy's vocabulary shared by every stage: xDS resource types, their type URLs and the short names
 * operators use, and what Envoy does by default where a stage must know it. A leaf: it knows
 * java-control-plane's types and nothing of Signalbox's stages.
 */
package io.signalbox.envoy;
