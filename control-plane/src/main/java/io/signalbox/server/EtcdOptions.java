package io.signalbox.server;

import io.signalbox.security.SecretValue;
import io.signalbox.store.EtcdConnection;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import picocli.CommandLine.Option;

/**
 * The {@code --etcd-*} flags of {@link SignalboxMain} (a picocli mixin: the same flags of the same
 * command) and the {@link EtcdConnection} they make for {@code --store etcd}. Kept apart from the
 * other flags because only the etcd back end reads them, and they come with checks of their own
 * (pairs given together, files readable, the password read from a file).
 */
final class EtcdOptions {

  @Option(
      names = "--etcd-endpoints",
      paramLabel = "URL[,URL...]",
      split = ",",
      description = "etcd client URLs for --store etcd, e.g. http://127.0.0.1:2379")
  java.util.List<String> etcdEndpoints;

  @Option(
      names = "--etcd-timeout",
      paramLabel = "DURATION",
      defaultValue = "2s",
      converter = SignalboxMain.DurationConverter.class,
      description =
          "How long one etcd call may take before a registration is answered UNAVAILABLE. "
              + "Default: ${DEFAULT-VALUE}")
  Duration etcdTimeout;

  @Option(
      names = "--etcd-ca-file",
      paramLabel = "FILE",
      description =
          "PEM certificate of the CA that signed etcd's server certificate (https:// endpoints). "
              + "Default: the JVM's trust store")
  Path etcdCaFile;

  @Option(
      names = "--etcd-cert-file",
      paramLabel = "FILE",
      description =
          "PEM client certificate for etcd's --client-cert-auth (mutual TLS); needs --etcd-key-file")
  Path etcdCertFile;

  @Option(
      names = "--etcd-key-file",
      paramLabel = "FILE",
      description = "PEM private key (unencrypted PKCS#8, BEGIN PRIVATE KEY) of --etcd-cert-file")
  Path etcdKeyFile;

  @Option(
      names = "--etcd-user",
      paramLabel = "NAME",
      description = "etcd user, when etcd's authentication is enabled; needs --etcd-password-file")
  String etcdUser;

  @Option(
      names = "--etcd-password-file",
      paramLabel = "FILE",
      description =
          "File holding the password of --etcd-user (one trailing newline is ignored); never logged")
  Path etcdPasswordFile;

  /** The first etcd TLS or authentication flag given, if any. */
  String etcdFlagGiven() {
    return etcdCaFile != null
        ? "--etcd-ca-file"
        : etcdCertFile != null
            ? "--etcd-cert-file"
            : etcdKeyFile != null
                ? "--etcd-key-file"
                : etcdUser != null
                    ? "--etcd-user"
                    : etcdPasswordFile != null ? "--etcd-password-file" : null;
  }

  /**
   * How to reach etcd, from the --etcd-* flags.
   *
   * @throws IllegalArgumentException naming the flag, when a file is unreadable or a pair is
   *     incomplete
   */
  EtcdConnection etcdConnection() {
    if ((etcdCertFile == null) != (etcdKeyFile == null)) {
      throw new IllegalArgumentException(
          etcdCertFile == null
              ? "--etcd-key-file needs --etcd-cert-file (the client certificate it belongs to)"
              : "--etcd-cert-file needs --etcd-key-file (the private key of the client certificate)");
    }
    if ((etcdUser == null) != (etcdPasswordFile == null)) {
      throw new IllegalArgumentException(
          etcdUser == null
              ? "--etcd-password-file needs --etcd-user"
              : "--etcd-user needs --etcd-password-file (the password is read from a file, never given as a flag)");
    }
    if (etcdUser != null && etcdUser.isBlank()) {
      throw new IllegalArgumentException("--etcd-user: the user name is empty");
    }
    Optional<Path> caFile =
        Optional.ofNullable(etcdCaFile).map(file -> SignalboxMain.readable("--etcd-ca-file", file));
    Optional<EtcdConnection.ClientCertificate> clientCertificate =
        Optional.ofNullable(etcdCertFile)
            .map(
                file ->
                    new EtcdConnection.ClientCertificate(
                        SignalboxMain.readable("--etcd-cert-file", file),
                        SignalboxMain.readable("--etcd-key-file", etcdKeyFile)));
    Optional<EtcdConnection.Credentials> credentials =
        Optional.ofNullable(etcdUser).map(user -> new EtcdConnection.Credentials(user, password()));
    try {
      return new EtcdConnection(etcdEndpoints, etcdTimeout, caFile, clientCertificate, credentials);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--etcd-endpoints: " + e.getMessage(), e);
    }
  }

  /**
   * The password in --etcd-password-file, without the line break that editors and {@code echo} end
   * a file with.
   */
  private SecretValue password() {
    String password;
    try {
      password =
          Files.readString(
              SignalboxMain.readable("--etcd-password-file", etcdPasswordFile),
              StandardCharsets.UTF_8);
    } catch (IOException e) {
      // The exception's message is only the file name and the reason; the content is never in it.
      throw new IllegalArgumentException(
          "--etcd-password-file: cannot read " + etcdPasswordFile + ": " + e);
    }
    password =
        password.endsWith("\r\n")
            ? password.substring(0, password.length() - 2)
            : password.endsWith("\n") ? password.substring(0, password.length() - 1) : password;
    if (password.isEmpty()) {
      throw new IllegalArgumentException("--etcd-password-file: " + etcdPasswordFile + " is empty");
    }
    return SecretValue.of(password);
  }
}
