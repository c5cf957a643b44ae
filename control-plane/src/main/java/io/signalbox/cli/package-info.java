/**
 * {@code signalboxctl}, the operator's command line for the admin API ({@code
 * scripts/signalboxctl}). It talks to a control plane only over gRPC, like any other client.
 */
package io.signalbox.cli;
