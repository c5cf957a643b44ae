package io.signalbox.testing;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.stub.AbstractStub;
import io.grpc.stub.MetadataUtils;
import io.signalbox.security.Identity;

/**
 * For in-process tests of authorization: the caller's {@link Identity} travels in a request header
 * instead of a client certificate, which an in-process channel cannot carry. Never part of a real
 * server.
 */
public final class HeaderIdentity {

  private static final Metadata.Key<String> HEADER =
      Metadata.Key.of("test-identity", Metadata.ASCII_STRING_MARSHALLER);

  private HeaderIdentity() {}

  /** Stands where {@link io.signalbox.security.IdentityInterceptor} stands on a real server. */
  public static ServerInterceptor interceptor() {
    return new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(
          ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        Identity who = new Identity(headers.get(HEADER));
        return Contexts.interceptCall(who.attachTo(Context.current()), call, headers, next);
      }
    };
  }

  /** {@code stub}, calling as {@code identity}. */
  public static <S extends AbstractStub<S>> S as(S stub, String identity) {
    Metadata headers = new Metadata();
    headers.put(HEADER, identity);
    return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
  }
}
