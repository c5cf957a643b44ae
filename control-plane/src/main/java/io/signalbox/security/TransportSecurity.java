package io.signalbox.security;

import io.grpc.InsecureServerCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.util.AdvancedTlsX509KeyManager;
import io.grpc.util.AdvancedTlsX509TrustManager;
import io.grpc.util.CertificateUtils;
import java.io.ByteArrayInputStream;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
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

  private static final Logger log = LoggerFactory.getLogger(TransportSecurity.class);

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
   * Server credentials that require a client certificate chaining to the CA bundle. The three files are read again
   * every {@link #reloadInterval()}; a change is applied once the files have held still for one interval (so a
   * certificate written before its key is never served with the old key), and new handshakes use it from then on.
   * (grpc-java's own file reloading refreshes at most once a minute.) A version that does not parse is logged and
   * the last good one stays. Closing the returned value stops the reloading.
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
    AdvancedTlsX509KeyManager keyManager = new AdvancedTlsX509KeyManager();
    AdvancedTlsX509TrustManager trustManager;
    try {
      trustManager = AdvancedTlsX509TrustManager.newBuilder()
          .setVerification(AdvancedTlsX509TrustManager.Verification.CERTIFICATE_ONLY_VERIFICATION)
          .build();
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("cannot set up TLS: " + describe(e), e);
    }
    FileReload reload = new FileReload(tls, keyManager, trustManager);
    reload.applyNow(reload.read());
    ScheduledFuture<?> polling = reloader.scheduleWithFixedDelay(reload::poll, reloadInterval.toMillis(),
        reloadInterval.toMillis(), TimeUnit.MILLISECONDS);
    ServerCredentials credentials = TlsServerCredentials.newBuilder()
        .keyManager(keyManager)
        .trustManager(trustManager)
        .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE)
        .build();
    return new Credentials(credentials, List.of(() -> polling.cancel(false)));
  }

  /** Reads the three files and hands a changed version, once it held still, to the managers. */
  private static final class FileReload {
    private final TlsFiles tls;
    private final AdvancedTlsX509KeyManager keyManager;
    private final AdvancedTlsX509TrustManager trustManager;
    private List<byte[]> applied;
    private List<byte[]> pending;

    FileReload(TlsFiles tls, AdvancedTlsX509KeyManager keyManager, AdvancedTlsX509TrustManager trustManager) {
      this.tls = tls;
      this.keyManager = keyManager;
      this.trustManager = trustManager;
    }

    List<byte[]> read() {
      try {
        return List.of(Files.readAllBytes(tls.certificateChain()), Files.readAllBytes(tls.privateKey()),
            Files.readAllBytes(tls.clientCaBundle()));
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot read the TLS files: " + describe(e), e);
      }
    }

    /** @throws IllegalArgumentException naming the file that does not parse */
    void applyNow(List<byte[]> contents) {
      X509Certificate[] chain = parse(tls.certificateChain(), () -> CertificateUtils.getX509Certificates(
          new ByteArrayInputStream(contents.get(0))));
      PrivateKey key = parse(tls.privateKey(), () -> CertificateUtils.getPrivateKey(
          new ByteArrayInputStream(contents.get(1))));
      X509Certificate[] trusted = parse(tls.clientCaBundle(), () -> CertificateUtils.getX509Certificates(
          new ByteArrayInputStream(contents.get(2))));
      if (chain.length == 0 || trusted.length == 0) {
        throw new IllegalArgumentException("no certificate in " + (chain.length == 0 ? tls.certificateChain()
            : tls.clientCaBundle()));
      }
      keyManager.updateIdentityCredentials(chain, key);
      try {
        trustManager.updateTrustCredentials(trusted);
      } catch (IOException | GeneralSecurityException e) {
        throw new IllegalArgumentException("cannot trust " + tls.clientCaBundle() + ": " + describe(e), e);
      }
      applied = contents;
    }

    void poll() {
      try {
        List<byte[]> now = read();
        if (same(now, applied)) {
          pending = null;
        } else if (same(now, pending)) {
          applyNow(now);
          pending = null;
          log.info("TLS files reloaded: {} (new connections use them)", tls.certificateChain());
        } else {
          pending = now;
        }
      } catch (RuntimeException e) {
        pending = null;
        log.warn("TLS files not reloaded, the last good ones stay in force: {}", e.getMessage());
      }
    }

    private static boolean same(List<byte[]> a, List<byte[]> b) {
      if (a == null || b == null) {
        return false;
      }
      for (int i = 0; i < a.size(); i++) {
        if (!Arrays.equals(a.get(i), b.get(i))) {
          return false;
        }
      }
      return true;
    }

    private interface Parse<T> {
      T parse() throws Exception;
    }

    private static <T> T parse(Path file, Parse<T> parse) {
      try {
        return parse.parse();
      } catch (Exception e) {
        throw new IllegalArgumentException("cannot parse " + file + ": " + describe(e), e);
      }
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
