package io.signalbox.client;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.RegisterResponse;
import io.signalbox.tls.TlsFileReloader;
import io.signalbox.tls.TlsFiles;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Registers service instances with a Signalbox control plane and keeps them registered:
 *
 * <pre>{@code
 * RegistryClient client = RegistryClient.connect("localhost:18000");
 * Registration registration = client.register(ServiceRegistration.builder("orders")
 *         .instance("orders-1", "10.0.0.7", 8080)
 *         .route(Routes.prefix("/orders"))
 *         .build());
 * }</pre>
 *
 * A JVM shutdown hook deregisters whatever is still registered when the process exits; closing the
 * client closes its registrations and removes the hook.
 *
 * <p>A control plane that runs mutual TLS (the default) needs the service's certificate:
 *
 * <pre>{@code
 * RegistryClient client = RegistryClient.builder()
 *         .target("signalbox.internal:18000")
 *         .mutualTls(Path.of("orders.pem"), Path.of("orders-key.pem"), Path.of("ca.pem"))
 *         .build();
 * }</pre>
 */
public final class RegistryClient implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(RegistryClient.class);

  private static final Duration CHANNEL_SHUTDOWN_TIMEOUT = Duration.ofSeconds(2);

  private final ClientContext context;
  private final boolean ownsChannel;
  private final Duration registrationTimeout;
  private final Set<Registration> open = ConcurrentHashMap.newKeySet();
  private final @Nullable Thread shutdownHook;
  private final AtomicBoolean closed = new AtomicBoolean();

  /**
   * The certificate files behind the channel's TLS; null in plaintext or with a caller's channel.
   */
  private final @Nullable TlsFileReloader tls;

  private RegistryClient(Builder builder) {
    this.ownsChannel = builder.channel == null;
    ClientScheduler scheduler = new ClientScheduler();
    try {
      // Checked here, so that a missing or unreadable certificate fails build(), naming the file.
      this.tls =
          builder.tlsFiles == null
              ? null
              : TlsFileReloader.start(
                  builder.tlsFiles,
                  TlsFileReloader.PeerVerification.CHAIN_AND_HOST_NAME,
                  TlsFileReloader.DEFAULT_INTERVAL,
                  scheduler.executor());
    } catch (RuntimeException e) {
      scheduler.shutdown();
      throw e;
    }
    ManagedChannel channel =
        ownsChannel
            ? Grpc.newChannelBuilder(builder.target, credentials()).build()
            : builder.channel;
    this.context = new ClientContext(channel, scheduler, builder.backoffPolicy);
    this.registrationTimeout = builder.registrationTimeout;
    if (builder.shutdownHook) {
      shutdownHook =
          new Thread(this::closeRegistrations, ClientScheduler.THREAD_NAME + "-shutdown");
      Runtime.getRuntime().addShutdownHook(shutdownHook);
    } else {
      shutdownHook = null;
    }
  }

  /**
   * Plaintext, or mutual TLS whose managers follow the files: new connections present the newest
   * certificate.
   */
  private ChannelCredentials credentials() {
    if (tls == null) {
      return InsecureChannelCredentials.create();
    }
    return TlsChannelCredentials.newBuilder()
        .keyManager(tls.keyManager())
        .trustManager(tls.trustManager())
        .build();
  }

  /**
   * A client with default settings for a control plane at {@code target}, e.g. "localhost:18000",
   * in plaintext (only a control plane run with {@code --insecure-plaintext} accepts it; see {@link
   * Builder#mutualTls}).
   */
  public static RegistryClient connect(String target) {
    return builder().target(target).build();
  }

  /** A builder, for mutual TLS, a channel of the caller's or other timeouts. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Registers an instance and keeps it registered until the returned handle is closed. Blocks until
   * the control plane accepted the registration. While the control plane is unreachable
   * (UNAVAILABLE) this retries with backoff for up to the registration timeout (30 s by default),
   * so services may start before it.
   *
   * @throws RegistrationException when the control plane rejects the registration (not retried), or
   *     stays unreachable for the whole registration timeout
   */
  public Registration register(ServiceRegistration registration) {
    return register(registration, RegistrationListener.NONE);
  }

  /**
   * As {@link #register(ServiceRegistration)}, reporting background events to {@code listener}.
   *
   * @throws RegistrationException as {@link #register(ServiceRegistration)} does
   * @throws IllegalStateException when the client is closed
   */
  public Registration register(ServiceRegistration registration, RegistrationListener listener) {
    Objects.requireNonNull(registration, "registration");
    Objects.requireNonNull(listener, "listener");
    if (closed.get()) {
      throw new IllegalStateException("registry client is closed");
    }
    Lease lease = registerUntilReachable(registration);
    log.info(
        "{}: registered with lease {} (TTL {} ms)",
        registration,
        lease.fingerprint(),
        lease.ttl().toMillis());

    LeaseKeeper keeper = new LeaseKeeper(registration, lease, context, listener);
    Registration handle = new Registration(registration, keeper, open::remove);
    open.add(handle);
    keeper.start();
    if (closed.get()) {
      // Lost a race with close(): do not leave a registration behind that nobody can close any
      // more.
      handle.close();
      throw new IllegalStateException("registry client is closed");
    }
    return handle;
  }

  private Lease registerUntilReachable(ServiceRegistration registration) {
    RegisterRequest request = registration.toRequest();
    long deadline = System.nanoTime() + registrationTimeout.toNanos();
    Backoff backoff = context.backoffPolicy().newBackoff();
    while (true) {
      try {
        RegisterResponse response =
            context
                .blocking()
                .withDeadlineAfter(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)
                .register(request);
        return Lease.from(response);
      } catch (StatusRuntimeException e) {
        Status status = e.getStatus();
        if (status.getCode() != Status.Code.UNAVAILABLE) {
          throw new RegistrationException("Registering " + registration + " failed", status, e);
        }
        long remaining = deadline - System.nanoTime();
        Duration pause = backoff.next();
        if (pause.toNanos() >= remaining) {
          // No time left for another attempt: give up at the timeout, not before it, so a caller's
          // timeout means what it says however the backoff's jitter fell.
          sleep(Duration.ofNanos(Math.max(0, remaining)), registration);
          throw new RegistrationException(
              "Control plane unreachable for "
                  + registrationTimeout.toMillis()
                  + " ms while registering "
                  + registration,
              status,
              e);
        }
        log.info(
            "{}: control plane unavailable ({}); retrying in {} ms",
            registration,
            Statuses.describe(status),
            pause.toMillis());
        sleep(pause, registration);
        // Otherwise the channel may still be waiting out its own, much longer, reconnect backoff.
        context.channel().resetConnectBackoff();
      }
    }
  }

  private static void sleep(Duration pause, ServiceRegistration registration) {
    try {
      TimeUnit.NANOSECONDS.sleep(pause.toNanos());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RegistrationException(
          "Interrupted while registering " + registration, Status.CANCELLED.withCause(e), e);
    }
  }

  /**
   * Closes every registration still open (deregistering it) and releases the channel if this client
   * made it.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    removeShutdownHook();
    closeRegistrations();
    if (tls != null) {
      tls.close();
    }
    context.scheduler().shutdown();
    if (ownsChannel) {
      shutdownChannel(context.channel());
    }
  }

  @Nullable Thread shutdownHook() {
    return shutdownHook;
  }

  private void closeRegistrations() {
    List.copyOf(open).forEach(Registration::close);
  }

  private void removeShutdownHook() {
    if (shutdownHook == null) {
      return;
    }
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException e) {
      // The JVM is already shutting down: the hook runs (or ran) and does the same as this close().
      log.debug("JVM shutdown in progress; shutdown hook left in place");
    }
  }

  private static void shutdownChannel(ManagedChannel channel) {
    channel.shutdown();
    try {
      if (!channel.awaitTermination(CHANNEL_SHUTDOWN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        channel.shutdownNow();
      }
    } catch (InterruptedException e) {
      channel.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Settings of a {@link RegistryClient}: exactly one of {@link #target} and {@link #channel} is
   * required. Obtained from {@link RegistryClient#builder()}.
   */
  public static final class Builder {

    private @Nullable String target;
    private @Nullable TlsFiles tlsFiles;
    private @Nullable ManagedChannel channel;
    private Duration registrationTimeout = Duration.ofSeconds(30);
    private BackoffPolicy backoffPolicy = BackoffPolicy.DEFAULT;
    private boolean shutdownHook = true;

    private Builder() {}

    /**
     * The control plane's registry address, "host:port" or any gRPC target; connected in plaintext
     * unless {@link #mutualTls} is given.
     */
    public Builder target(String target) {
      this.target = Objects.requireNonNull(target, "target");
      return this;
    }

    /**
     * Connects to {@link #target} over mutual TLS: presents {@code certificateChain} with {@code
     * privateKey} (the service's identity, e.g. URI SAN {@code
     * spiffe://signalbox.local/service/orders}), and trusts a control plane whose certificate
     * chains to {@code caBundle} and names the host or IP address of the target. PEM files, as
     * {@code signalbox ca issue} writes them. They are read again every second; once replaced files
     * have held still for a second, new connections (after a control plane restart or a dropped
     * connection) present the new certificate, without restarting the client.
     *
     * @throws IllegalArgumentException from {@link #build()}, naming the file, when a file cannot
     *     be read or parsed
     */
    public Builder mutualTls(Path certificateChain, Path privateKey, Path caBundle) {
      this.tlsFiles = new TlsFiles(certificateChain, privateKey, caBundle);
      return this;
    }

    /**
     * Uses this channel instead of making one (e.g. an in-process channel in tests, or one with
     * TLS). The caller keeps ownership: closing the client does not shut it down.
     */
    public Builder channel(ManagedChannel channel) {
      this.channel = Objects.requireNonNull(channel, "channel");
      return this;
    }

    /**
     * How long the first registration keeps retrying while the control plane is unreachable;
     * default 30 s.
     */
    public Builder registrationTimeout(Duration timeout) {
      Objects.requireNonNull(timeout, "timeout");
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("registration timeout must be positive: " + timeout);
      }
      this.registrationTimeout = timeout;
      return this;
    }

    /**
     * Backoff between attempts to reach the control plane: starts at {@code initial}, doubles up to
     * {@code max}, with jitter. Default 100 ms to 5 s.
     */
    public Builder reconnectBackoff(Duration initial, Duration max) {
      this.backoffPolicy = new BackoffPolicy(initial, max);
      return this;
    }

    /** Whether to deregister open registrations from a JVM shutdown hook; default true. */
    public Builder shutdownHook(boolean enabled) {
      this.shutdownHook = enabled;
      return this;
    }

    /**
     * A client with these settings; it connects lazily, on the first registration.
     *
     * @throws IllegalStateException when neither or both of {@link #target} and {@link #channel}
     *     were given, or {@link #mutualTls} with a channel
     * @throws IllegalArgumentException naming the file, when a file of {@link #mutualTls} cannot be
     *     read or parsed
     */
    public RegistryClient build() {
      if ((target == null) == (channel == null)) {
        throw new IllegalStateException("exactly one of target(...) and channel(...) is required");
      }
      if (tlsFiles != null && channel != null) {
        throw new IllegalStateException(
            "mutualTls(...) configures the channel made for target(...); a "
                + "channel(...) brings its own credentials");
      }
      return new RegistryClient(this);
    }
  }
}
