package io.signalbox.security;

import io.grpc.InsecureServerCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import io.signalbox.tls.TlsFileReloader;
import io.signalbox.tls.TlsFiles;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;

/**
 * How the control plane's gRPC ports talk to their peers: mutual TLS with the operator's files (the
 * default and the only choice on a network), or plaintext, which the operator has to ask for by
 * name ({@code --insecure-plaintext}).
 *
 * @param files the server's certificate chain, its private key and the CA bundle that client
 *     certificates must chain to (PEM); empty for plaintext
 * @param reloadInterval how often the files are read again; a rotated certificate serves new
 *     handshakes from then on
 */
public record TransportSecurity(Optional<TlsFiles> files, Duration reloadInterval) {

  public static final Duration DEFAULT_RELOAD_INTERVAL = TlsFileReloader.DEFAULT_INTERVAL;

  public TransportSecurity {
    Objects.requireNonNull(files, "files");
    Objects.requireNonNull(reloadInterval, "reloadInterval");
  }

  /** No TLS: every peer is trusted. Only for development and tests on one machine. */
  public static TransportSecurity plaintext() {
    return new TransportSecurity(Optional.empty(), DEFAULT_RELOAD_INTERVAL);
  }

  public static TransportSecurity mutualTls(
      Path certificateChain, Path privateKey, Path clientCaBundle) {
    return new TransportSecurity(
        Optional.of(new TlsFiles(certificateChain, privateKey, clientCaBundle)),
        DEFAULT_RELOAD_INTERVAL);
  }

  public boolean isTls() {
    return files.isPresent();
  }

  /**
   * Server credentials that require a client certificate chaining to the CA bundle. A {@link
   * TlsFileReloader} reads the three files again every {@link #reloadInterval()} on {@code
   * reloader}; a change is applied once the files have held still for one interval, and new
   * handshakes use it from then on; a version that does not parse is logged and the last good one
   * stays. Closing the returned value stops the reloading.
   *
   * @throws IllegalArgumentException naming the file, when a file cannot be read or parsed now
   */
  public Credentials serverCredentials(ScheduledExecutorService reloader) {
    if (files.isEmpty()) {
      return new Credentials(InsecureServerCredentials.create(), List.of());
    }
    TlsFileReloader tls =
        TlsFileReloader.start(
            files.get(), TlsFileReloader.PeerVerification.CHAIN, reloadInterval, reloader);
    ServerCredentials credentials =
        TlsServerCredentials.newBuilder()
            .keyManager(tls.keyManager())
            .trustManager(tls.trustManager())
            .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE)
            .build();
    return new Credentials(credentials, List.of(tls));
  }

  /** Credentials for one server, and the file reloading behind them. */
  public record Credentials(ServerCredentials credentials, List<AutoCloseable> reloads)
      implements AutoCloseable {
    @Override
    public void close() {
      closeAll(reloads);
    }
  }

  private static void closeAll(List<AutoCloseable> reloads) {
    for (AutoCloseable reload : reloads) {
      try {
        reload.close();
      } catch (Exception e) {
        // Stopping a scheduled reload cannot fail in a way worth reporting.
      }
    }
  }
}
