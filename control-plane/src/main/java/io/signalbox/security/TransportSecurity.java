package io.signalbox.security;

import io.grpc.InsecureServerCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.util.AdvancedTlsX509KeyManager;
import io.grpc.util.AdvancedTlsX509TrustManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * How the control plane's gRPC ports talk to their peers: mutual TLS with the operator's files (the default and the
 * only choice on a network), or plaintext, which the operator has to ask for by name ({@code
 * --insecure-plaintext}).
 *
 * @param files the server's certificate chain, its private key and the CA bundle that client certificates must
 *     chain to (PEM); empty for plaintext
 * @param reloadInterval how often the files are read again; a rotated certificate serves new handshakes from then on
 */
public record TransportSecurity(Optional<TlsFiles> files, Duration reloadInterval) {

  /** The PEM files of mutual TLS. */
  public record TlsFiles(Path certificateChain, Path privateKey, Path clientCaBundle) {
    public TlsFiles {
      Objects.requireNonNull(certificateChain, "certificateChain");
      Objects.requireNonNull(privateKey, "privateKey");
      Objects.requireNonNull(clientCaBundle, "clientCaBundle");
    }
  }

  public static final Duration DEFAULT_RELOAD_INTERVAL = Duration.ofSeconds(1);

  public TransportSecurity {
    Objects.requireNonNull(files, "files");
    Objects.requireNonNull(reloadInterval, "reloadInterval");
  }

  /** No TLS: every peer is trusted. Only for development and tests on one machine. */
  public static TransportSecurity plaintext() {
    return new TransportSecurity(Optional.empty(), DEFAULT_RELOAD_INTERVAL);
  }

  public static TransportSecurity mutualTls(Path certificateChain, Path privateKey, Path clientCaBundle) {
    return new TransportSecurity(Optional.of(new TlsFiles(certificateChain, privateKey, clientCaBundle)),
        DEFAULT_RELOAD_INTERVAL);
  }

  public boolean isTls() {
    return files.isPresent();
  }

  /**
   * Server credentials that require a client certificate chaining to the CA bundle and re-read all three files
   * every {@link #reloadInterval()} (grpc-java's {@code AdvancedTls} managers). Closing the returned value stops
   * the reloading.
   *
   * @throws IllegalArgumentException naming the file, when a file cannot be read or parsed now
   */
  public Credentials serverCredentials(ScheduledExecutorService reloader) {
    if (files.isEmpty()) {
      return new Credentials(InsecureServerCredentials.create(), List.of());
    }
    TlsFiles tls = files.get();
    readable(tls.certificateChain());
    readable(tls.privateKey());
    readable(tls.clientCaBundle());
    List<AutoCloseable> reloads = new ArrayList<>();
    try {
      AdvancedTlsX509KeyManager keyManager = new AdvancedTlsX509KeyManager();
      try {
        reloads.add(keyManager.updateIdentityCredentials(tls.certificateChain().toFile(), tls.privateKey().toFile(),
            reloadInterval.toMillis(), TimeUnit.MILLISECONDS, reloader)::close);
      } catch (IOException | GeneralSecurityException | RuntimeException e) {
        throw new IllegalArgumentException("cannot load the server certificate " + tls.certificateChain()
            + " with its key " + tls.privateKey() + ": " + describe(e), e);
      }
      AdvancedTlsX509TrustManager trustManager = AdvancedTlsX509TrustManager.newBuilder()
          .setVerification(AdvancedTlsX509TrustManager.Verification.CERTIFICATE_ONLY_VERIFICATION)
          .build();
      try {
        reloads.add(trustManager.updateTrustCredentials(tls.clientCaBundle().toFile(), reloadInterval.toMillis(),
            TimeUnit.MILLISECONDS, reloader)::close);
      } catch (IOException | GeneralSecurityException | RuntimeException e) {
        throw new IllegalArgumentException("cannot load the client CA bundle " + tls.clientCaBundle() + ": "
            + describe(e), e);
      }
      ServerCredentials credentials = TlsServerCredentials.newBuilder()
          .keyManager(keyManager)
          .trustManager(trustManager)
          .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE)
          .build();
      return new Credentials(credentials, reloads);
    } catch (GeneralSecurityException e) {
      closeAll(reloads);
      throw new IllegalArgumentException("cannot set up TLS: " + describe(e), e);
    } catch (RuntimeException e) {
      closeAll(reloads);
      throw e;
    }
  }

  /** Credentials for one server, and the file reloading behind them. */
  public record Credentials(ServerCredentials credentials, List<AutoCloseable> reloads) implements AutoCloseable {
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

  private static void readable(Path file) {
    if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
      throw new IllegalArgumentException("cannot read " + file + " ("
          + (!Files.exists(file) ? "no such file" : Files.isDirectory(file) ? "a directory" : "permission denied")
          + ")");
    }
  }

  /** The reason, never a file's contents (the key file is a secret; parsers do not quote it, but be sure). */
  private static String describe(Exception e) {
    String message = e.getMessage();
    return e.getClass().getSimpleName() + (message == null ? "" : ": " + firstLine(message));
  }

  private static String firstLine(String text) {
    int end = text.indexOf('\n');
    String line = end < 0 ? text : text.substring(0, end);
    return line.length() <= 200 ? line : line.substring(0, 200) + "...";
  }
}
