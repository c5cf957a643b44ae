/**
 * Assembly: {@link io.signalbox.server.ControlPlane} wires registry, store, translator and xDS into
 * one running server; {@link io.signalbox.server.SignalboxMain} is the command line around it. No
 * stage logic lives here.
 */
package io.signalbox.server;
