package io.signalbox.model;

/** How Envoy talks to a service's instances. */
public enum UpstreamProtocol {
  /** HTTP/1.1: the default. */
  HTTP1,
  /** HTTP/2 in cleartext (h2c with prior knowledge). */
  HTTP2,
  /** gRPC: HTTP/2 in cleartext; unary and streaming calls pass through. */
  GRPC;

  /** Whether Envoy speaks HTTP/2 to the instances. */
  public boolean http2() {
    return this != HTTP1;
  }
}
