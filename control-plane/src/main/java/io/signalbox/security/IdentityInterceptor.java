package io.signalbox.security;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Makes the caller's {@link Identity} available to every service of a server ({@link
 * Identity#current()}). On a TLS server a call without a verified client certificate naming an
 * identity is closed UNAUTHENTICATED before any service sees it (the TLS handshake already requires
 * a certificate; this is the second lock). On a plaintext server every caller is {@link
 * Identity#PLAINTEXT}.
 */
public final class IdentityInterceptor implements ServerInterceptor {

  private final boolean tls;

  private IdentityInterceptor(boolean tls) {
    this.tls = tls;
  }

  /** For a server whose transport is {@code transport}. */
  public static IdentityInterceptor forTransport(TransportSecurity transport) {
    return new IdentityInterceptor(transport.isTls());
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    Identity identity;
    if (tls) {
      Optional<Identity> verified =
          verifiedIdentity(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
      if (verified.isEmpty()) {
        call.close(
            Status.UNAUTHENTICATED.withDescription(
                "a client certificate naming an identity (URI SAN, DNS SAN or CN) is required"),
            new Metadata());
        return new ServerCall.Listener<>() {};
      }
      identity = verified.get();
    } else {
      identity = Identity.PLAINTEXT;
    }
    Context context = identity.attachTo(Context.current());
    return Contexts.interceptCall(context, call, headers, next);
  }

  private static Optional<Identity> verifiedIdentity(SSLSession session) {
    if (session == null) {
      return Optional.empty();
    }
    Certificate[] chain;
    try {
      chain = session.getPeerCertificates();
    } catch (SSLPeerUnverifiedException e) {
      return Optional.empty();
    }
    if (chain.length == 0 || !(chain[0] instanceof X509Certificate leaf)) {
      return Optional.empty();
    }
    return PeerIdentities.of(leaf);
  }
}
