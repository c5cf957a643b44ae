package io.signalbox.security;

import io.grpc.Context;
import java.util.Objects;

/**
 * Who is at the other end of a call, as its certificate says: the SPIFFE-style URI SAN ({@code
 * spiffe://signalbox.local/service/orders}), else the first DNS SAN, else the subject's CN ({@link
 * PeerIdentities}). On a control plane run with {@code --insecure-plaintext} every caller is {@link
 * #PLAINTEXT}; a call that no {@link IdentityInterceptor} saw is {@link #NONE} and may do nothing.
 */
public record Identity(String value) {

  /**
   * Every caller of a control plane that runs without TLS: nobody is authenticated, so nothing is
   * checked.
   */
  public static final Identity PLAINTEXT = new Identity("plaintext-peer");

  /**
   * No identity was established for the call; an enforcing {@link AccessControl} refuses it
   * everything.
   */
  public static final Identity NONE = new Identity("unauthenticated");

  static final Context.Key<Identity> CONTEXT_KEY = Context.key("signalbox-peer-identity");

  public Identity {
    Objects.requireNonNull(value, "value");
  }

  /** The identity of the call being handled on this thread. */
  public static Identity current() {
    Identity identity = CONTEXT_KEY.get();
    return identity == null ? NONE : identity;
  }

  /** A context in which {@link #current()} is this identity (for work handed to another thread). */
  public Context attachTo(Context context) {
    return context.withValue(CONTEXT_KEY, this);
  }

  /**
   * What a registration records as its registrant: empty for {@link #PLAINTEXT} (a lease made
   * without TLS belongs to nobody in particular, and may be adopted by the first authenticated
   * caller allowed to register its service). {@link #NONE} is not empty: a call that no interceptor
   * saw must not pass the store's ownership checks as a plaintext caller would.
   */
  public String registrant() {
    return equals(PLAINTEXT) ? "" : value;
  }

  @Override
  public String toString() {
    return value;
  }
}
