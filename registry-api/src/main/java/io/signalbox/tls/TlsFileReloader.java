package io.signalbox.tls;

import io.grpc.util.AdvancedTlsX509KeyManager;
import io.grpc.util.AdvancedTlsX509TrustManager;
import io.grpc.util.CertificateUtils;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A key manager and a trust manager that follow {@link TlsFiles} as they are replaced: the three
 * files are read again every interval, and a change is applied once the files have held still for
 * one interval (so a certificate written before its key is never presented with the old key); new
 * handshakes use it from then on, connections already open keep what they negotiated. A version
 * that does not parse, or whose key is not its certificate's, is logged and the last good one
 * stays.
 *
 * <p>Why not grpc-java's own file reloading ({@code
 * AdvancedTlsX509KeyManager.updateIdentityCredentials(File, File, period, ...)}): it clamps the
 * period to at least one minute, so a rotated certificate would wait that long.
 */
public final class TlsFileReloader implements AutoCloseable {

  /**
   * How often the files are read: a rotated certificate reaches new connections within about two of
   * these.
   */
  public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(1);

  /** What the trust manager checks of the peer's certificate. */
  public enum PeerVerification {
    /** It chains to the CA bundle: a server checking its clients, whose addresses name nothing. */
    CHAIN,
    /**
     * It chains to the CA bundle and names the host or IP address that was dialled: a client
     * checking a server.
     */
    CHAIN_AND_HOST_NAME
  }

  private static final Logger log = LoggerFactory.getLogger(TlsFileReloader.class);

  private final TlsFiles files;
  private final AdvancedTlsX509KeyManager keyManager = new AdvancedTlsX509KeyManager();
  private final AdvancedTlsX509TrustManager trustManager;
  private volatile ScheduledFuture<?> polling;

  /** Touched only by the first read and then by the poller: one thread at a time. */
  private @Nullable List<byte[]> applied;

  private @Nullable List<byte[]> pending;

  private TlsFileReloader(TlsFiles files, PeerVerification verification) {
    this.files = files;
    try {
      this.trustManager =
          AdvancedTlsX509TrustManager.newBuilder()
              .setVerification(
                  verification == PeerVerification.CHAIN
                      ? AdvancedTlsX509TrustManager.Verification.CERTIFICATE_ONLY_VERIFICATION
                      : AdvancedTlsX509TrustManager.Verification
                          .CERTIFICATE_AND_HOST_NAME_VERIFICATION)
              .build();
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("cannot set up TLS: " + describe(e), e);
    }
  }

  /**
   * Reads the files now and then every {@code interval} on {@code scheduler}, until closed.
   *
   * @throws IllegalArgumentException naming the file, when a file cannot be read or parsed now
   */
  public static TlsFileReloader start(
      TlsFiles files,
      PeerVerification verification,
      Duration interval,
      ScheduledExecutorService scheduler) {
    Objects.requireNonNull(files, "files");
    Objects.requireNonNull(verification, "verification");
    Objects.requireNonNull(scheduler, "scheduler");
    if (interval.isNegative() || interval.isZero()) {
      throw new IllegalArgumentException("reload interval must be positive: " + interval);
    }
    readable(files.certificateChain());
    readable(files.privateKey());
    readable(files.caBundle());
    TlsFileReloader reloader = new TlsFileReloader(files, verification);
    reloader.apply(reloader.read());
    reloader.polling =
        scheduler.scheduleWithFixedDelay(
            reloader::poll, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    return reloader;
  }

  /** Presents the certificate chain and key of the files as last applied. */
  public X509ExtendedKeyManager keyManager() {
    return keyManager;
  }

  /** Trusts peers whose certificate chains to the CA bundle as last applied. */
  public X509ExtendedTrustManager trustManager() {
    return trustManager;
  }

  /** The files this reloader follows. */
  public TlsFiles files() {
    return files;
  }

  /** Stops reading the files; the managers keep the last version applied. */
  @Override
  public void close() {
    polling.cancel(false);
  }

  private List<byte[]> read() {
    try {
      return List.of(
          Files.readAllBytes(files.certificateChain()),
          Files.readAllBytes(files.privateKey()),
          Files.readAllBytes(files.caBundle()));
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read the TLS files: " + describe(e), e);
    }
  }

  /**
   * @throws IllegalArgumentException naming the file that does not parse
   */
  private void apply(List<byte[]> contents) {
    X509Certificate[] chain =
        parse(
            files.certificateChain(),
            () -> CertificateUtils.getX509Certificates(new ByteArrayInputStream(contents.get(0))));
    PrivateKey key =
        parse(
            files.privateKey(),
            () -> CertificateUtils.getPrivateKey(new ByteArrayInputStream(contents.get(1))));
    X509Certificate[] trusted =
        parse(
            files.caBundle(),
            () -> CertificateUtils.getX509Certificates(new ByteArrayInputStream(contents.get(2))));
    if (chain.length == 0 || trusted.length == 0) {
      throw new IllegalArgumentException(
          "no certificate in " + (chain.length == 0 ? files.certificateChain() : files.caBundle()));
    }
    // A certificate replaced without its key (or the reverse) would fail every handshake: keep the
    // last good pair.
    if (KeyMatch.matches(chain[0], key).equals(Optional.of(false))) {
      throw new IllegalArgumentException(
          files.privateKey() + " is not the key of the certificate in " + files.certificateChain());
    }
    keyManager.updateIdentityCredentials(chain, key);
    try {
      trustManager.updateTrustCredentials(trusted);
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException(
          "cannot trust " + files.caBundle() + ": " + describe(e), e);
    }
    applied = contents;
  }

  private void poll() {
    try {
      List<byte[]> now = read();
      if (same(now, applied)) {
        pending = null;
      } else if (same(now, pending)) {
        apply(now);
        pending = null;
        log.info("TLS files reloaded: {} (new connections use them)", files.certificateChain());
      } else {
        pending = now;
      }
    } catch (RuntimeException e) {
      pending = null;
      log.warn("TLS files not reloaded, the last good ones stay in force: {}", e.getMessage());
    }
  }

  private static boolean same(@Nullable List<byte[]> a, @Nullable List<byte[]> b) {
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

  private static void readable(Path file) {
    if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
      throw new IllegalArgumentException(
          "cannot read "
              + file
              + " ("
              + (!Files.exists(file)
                  ? "no such file"
                  : Files.isDirectory(file) ? "a directory" : "permission denied")
              + ")");
    }
  }

  /**
   * The reason, never a file's contents (the key file is a secret; parsers do not quote it, but be
   * sure).
   */
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
