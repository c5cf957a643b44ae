package io.signalbox.admin;

import io.envoyproxy.controlplane.cache.SnapshotCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionService;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.signalbox.admin.v1.AdminGrpc;
import io.signalbox.security.AccessControl;
import io.signalbox.security.AuditLog;
import io.signalbox.store.RegistryAdmin;
import io.signalbox.store.RegistryStore;
import io.signalbox.xds.ProxyStatusTracker;
import io.signalbox.xds.SnapshotPublisher;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The admin API on its own port, with gRPC health and server reflection. Its own port, so that it
 * can be bound to a private interface while the registry API and xDS face the fleet. It speaks the
 * same transport as the gRPC port (mutual TLS unless the operator chose plaintext); each method
 * needs an admin role ({@link AdminAuthorization}).
 *
 * <p>Health: the overall status ({@code ""}) and {@code signalbox.admin.v1.Admin} are SERVING while
 * the server runs; {@value #PUSHES_HEALTH_SERVICE} is NOT_SERVING while an operator has paused
 * pushes, so a health probe can alert on a pause that was forgotten.
 */
public final class AdminServer implements AutoCloseable {

  public static final String PUSHES_HEALTH_SERVICE = "signalbox.pushes";

  private final Server server;
  private final AdminService service;

  private AdminServer(Server server, AdminService service) {
    this.server = server;
    this.service = service;
  }

  /**
   * @throws UncheckedIOException when the address cannot be bound
   */
  public static AdminServer start(
      String address,
      int port,
      ServerCredentials credentials,
      ServerInterceptor identity,
      AccessControl access,
      AuditLog audit,
      RegistryStore store,
      RegistryAdmin registry,
      SnapshotPublisher publisher,
      ProxyStatusTracker proxies,
      SnapshotCache<String, Snapshot> cache,
      java.time.Clock clock) {
    HealthStatusManager health = new HealthStatusManager();
    Runnable pushStateChanged =
        () ->
            health.setStatus(
                PUSHES_HEALTH_SERVICE,
                publisher.pausedSince().isPresent()
                    ? ServingStatus.NOT_SERVING
                    : ServingStatus.SERVING);
    AdminService service =
        new AdminService(store, registry, publisher, proxies, cache, pushStateChanged, clock);
    Server server =
        NettyServerBuilder.forAddress(new InetSocketAddress(address, port), credentials)
            // Interceptors run last-added first: the caller's identity is established before it is
            // authorized.
            .intercept(new AdminAuthorization(access, audit))
            .intercept(identity)
            .addService(service)
            .addService(health.getHealthService())
            // v1 for current tools, v1alpha for older grpcurl builds.
            .addService(ProtoReflectionServiceV1.newInstance())
            .addService(ProtoReflectionService.newInstance())
            .build();
    try {
      server.start();
    } catch (IOException e) {
      service.close();
      throw new UncheckedIOException(
          "cannot listen on " + address + ":" + port + " (admin API)", e);
    }
    health.setStatus("", ServingStatus.SERVING);
    health.setStatus(AdminGrpc.SERVICE_NAME, ServingStatus.SERVING);
    pushStateChanged.run();
    return new AdminServer(server, service);
  }

  /** The port actually bound. */
  public int port() {
    return server.getPort();
  }

  @Override
  public void close() {
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    service.close();
  }
}
