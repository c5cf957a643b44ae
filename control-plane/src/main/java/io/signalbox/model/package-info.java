/**
 * Immutable records of the registry: services, their instances and the routes they asked for. Every
 * other stage (store, translator, xDS) speaks in these types; none of them holds protobuf of the
 * registry API.
 */
package io.signalbox.model;
