package io.signalbox.bench;

import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;

/**
 * One simulated Envoy on an ADS stream, subscribed to CDS (wildcard) and to EDS for the clusters it
 * holds, recording when a {@link Round}'s change reaches it.
 */
interface FanoutClient {

  /** Opens the ADS stream and sends the first CDS request. */
  void start(AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceStub stub);

  /** How many ClusterLoadAssignments this client holds. */
  int assignmentCount();

  /** Responses received so far, of every type. */
  long responses();

  /** The serialized size of every response received so far. */
  long responseBytes();

  /** The stream ended, by an error or otherwise. */
  boolean failed();

  Throwable error();

  /** Cancels the stream. */
  void close();
}
