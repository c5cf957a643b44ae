package io.signalbox.config;

import com.google.common.hash.Hasher;
import com.google.common.hash.Hashing;
import com.google.common.util.concurrent.ThreadFactoryBuilder;
import io.signalbox.metrics.SignalboxMetrics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reloads the settings file when it, or a file it names (certificate, key, JWKS), changes, and
 * hands valid new settings on. An invalid file is rejected as a whole and the last good settings
 * stay in force.
 *
 * <p>Files are polled and compared by content rather than watched with inotify: Kubernetes swaps
 * mounted ConfigMaps and Secrets through symlink renames that file watches miss, and polling a few
 * small files is cheap. A change is applied only once the files have stayed the same for one poll,
 * so a certificate and its key replaced one after the other are never loaded as a mismatched pair.
 */
public final class GatewaySettingsWatcher implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(GatewaySettingsWatcher.class);

  private final Path file;
  private final Consumer<GatewaySettings> onChange;
  private final ScheduledExecutorService poller;
  private final SignalboxMetrics metrics;
  private volatile GatewaySettings current;
  private volatile String lastError;
  private Set<Path> watched;
  private String appliedFingerprint;
  private String pendingFingerprint;

  private GatewaySettingsWatcher(
      Path file,
      GatewaySettingsLoader.Loaded initial,
      Duration interval,
      Consumer<GatewaySettings> onChange,
      SignalboxMetrics metrics) {
    this.metrics = metrics;
    this.file = file;
    this.onChange = onChange;
    this.current = initial.settings();
    this.watched = initial.files();
    this.appliedFingerprint = fingerprint(file, watched);
    this.poller =
        Executors.newSingleThreadScheduledExecutor(
            new ThreadFactoryBuilder()
                .setNameFormat("signalbox-settings-watcher")
                .setDaemon(true)
                .build());
    poller.scheduleWithFixedDelay(
        this::poll, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * Loads {@code file} now, and then watches it every {@code interval}.
   *
   * @throws InvalidSettingsException when the file is invalid at startup: the control plane must
   *     not start with settings other than the operator's
   */
  public static GatewaySettingsWatcher start(
      Path file, Duration interval, Consumer<GatewaySettings> onChange) {
    return start(file, interval, onChange, SignalboxMetrics.noop());
  }

  /** As {@link #start(Path, Duration, Consumer)}, counting each reload in {@code metrics}. */
  public static GatewaySettingsWatcher start(
      Path file, Duration interval, Consumer<GatewaySettings> onChange, SignalboxMetrics metrics) {
    GatewaySettingsLoader.Loaded initial = GatewaySettingsLoader.load(file);
    return new GatewaySettingsWatcher(file, initial, interval, onChange, metrics);
  }

  /** The settings in force: the last valid version of the file. */
  public GatewaySettings current() {
    return current;
  }

  /** Why the newest version of the file was rejected; null when it is in force. */
  public String lastError() {
    return lastError;
  }

  /** Checks the files once; the poller calls this, tests may too. */
  synchronized void poll() {
    try {
      String fingerprint = fingerprint(file, watched);
      if (fingerprint.equals(appliedFingerprint)) {
        pendingFingerprint = null;
        return;
      }
      if (!fingerprint.equals(pendingFingerprint)) {
        // Changed since the last poll: wait until it holds still.
        pendingFingerprint = fingerprint;
        return;
      }
      pendingFingerprint = null;
      appliedFingerprint = fingerprint;
      GatewaySettingsLoader.Loaded loaded;
      try {
        loaded = GatewaySettingsLoader.load(file);
      } catch (InvalidSettingsException e) {
        lastError = e.getMessage();
        metrics.settingsReload(false);
        log.error(
            "Gateway settings {} rejected, the previous settings stay in force: {}",
            file,
            e.getMessage());
        return;
      }
      lastError = null;
      metrics.settingsReload(true);
      watched = loaded.files();
      // Re-read what the new settings name, so the next poll compares against the files actually
      // loaded.
      appliedFingerprint = fingerprint(file, watched);
      if (!loaded.settings().equals(current)) {
        current = loaded.settings();
        log.info("Gateway settings {} reloaded", file);
        onChange.accept(loaded.settings());
      }
    } catch (RuntimeException e) {
      log.error("Watching gateway settings {} failed; will try again", file, e);
    }
  }

  private static String fingerprint(Path file, Set<Path> files) {
    Hasher hasher = Hashing.sha256().newHasher();
    addFile(hasher, file);
    files.stream().sorted().forEach(path -> addFile(hasher, path));
    return hasher.hash().toString();
  }

  private static void addFile(Hasher hasher, Path path) {
    hasher.putUnencodedChars(path.toString());
    try {
      hasher.putBytes(Files.readAllBytes(path));
    } catch (IOException e) {
      // A missing file is a state of its own; loading will then report it.
      hasher.putUnencodedChars("<unreadable>");
    }
  }

  @Override
  public void close() {
    poller.shutdownNow();
  }

  @Override
  public String toString() {
    return "GatewaySettingsWatcher[" + Objects.toString(file) + "]";
  }
}
