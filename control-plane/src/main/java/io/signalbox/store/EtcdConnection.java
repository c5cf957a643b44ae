package io.signalbox.store;

import io.signalbox.security.SecretValue;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * How to reach etcd: its client URLs, how long one call may take, and optionally TLS (a CA to trust
 * for etcd's server certificate, a client certificate for mutual TLS) and a user name with its
 * password. The password prints as {@code [redacted]}, and the client key is only ever named by its
 * path, so this record may be logged.
 *
 * <p>TLS is used when any TLS file is given or an endpoint is {@code https://}; then every endpoint
 * must be {@code https://} (jetcd speaks TLS to all endpoints or to none, whatever their scheme
 * says). Without a CA file, etcd's certificate must chain to the JVM's default trust store.
 *
 * @param endpoints etcd client URLs, e.g. {@code https://10.0.0.1:2379}
 * @param timeout how long one etcd call may take before the change fails with {@link
 *     StoreUnavailableException}
 * @param caFile PEM certificate(s) of the authority that signed etcd's server certificate
 * @param clientCertificate certificate and key this client presents (etcd's {@code
 *     --client-cert-auth})
 * @param credentials user and password, when etcd's authentication is enabled
 */
public record EtcdConnection(
    List<String> endpoints,
    Duration timeout,
    Optional<Path> caFile,
    Optional<ClientCertificate> clientCertificate,
    Optional<Credentials> credentials) {

  /**
   * A PEM certificate chain and its PEM private key (unencrypted PKCS#8, {@code BEGIN PRIVATE
   * KEY}).
   */
  public record ClientCertificate(Path certificateFile, Path keyFile) {

    public ClientCertificate {
      Objects.requireNonNull(certificateFile, "certificateFile");
      Objects.requireNonNull(keyFile, "keyFile");
    }
  }

  /** An etcd user and its password; the password prints as {@code [redacted]}. */
  public record Credentials(String user, SecretValue password) {

    public Credentials {
      Objects.requireNonNull(user, "user");
      Objects.requireNonNull(password, "password");
      if (user.isBlank()) {
        throw new IllegalArgumentException("the etcd user name is empty");
      }
      if (password.reveal().isEmpty()) {
        throw new IllegalArgumentException("the password of etcd user " + user + " is empty");
      }
    }
  }

  public EtcdConnection {
    endpoints = List.copyOf(endpoints);
    Objects.requireNonNull(timeout, "timeout");
    caFile = caFile == null ? Optional.empty() : caFile;
    clientCertificate = clientCertificate == null ? Optional.empty() : clientCertificate;
    credentials = credentials == null ? Optional.empty() : credentials;
    if (endpoints.isEmpty()) {
      throw new IllegalArgumentException("no etcd endpoint");
    }
    if (caFile.isPresent()
        || clientCertificate.isPresent()
        || endpoints.stream().anyMatch(EtcdConnection::isHttps)) {
      for (String endpoint : endpoints) {
        if (!isHttps(endpoint)) {
          throw new IllegalArgumentException(
              "etcd endpoint "
                  + endpoint
                  + " is not https://, but "
                  + (caFile.isPresent() || clientCertificate.isPresent()
                      ? "TLS files are given"
                      : "others are")
                  + ": the client speaks TLS to every endpoint or to none");
        }
      }
    }
  }

  /** Plaintext, without authentication. */
  public static EtcdConnection plaintext(List<String> endpoints, Duration timeout) {
    return new EtcdConnection(
        endpoints, timeout, Optional.empty(), Optional.empty(), Optional.empty());
  }

  public EtcdConnection withCaFile(Path file) {
    return new EtcdConnection(
        endpoints, timeout, Optional.of(file), clientCertificate, credentials);
  }

  public EtcdConnection withClientCertificate(Path certificateFile, Path keyFile) {
    return new EtcdConnection(
        endpoints,
        timeout,
        caFile,
        Optional.of(new ClientCertificate(certificateFile, keyFile)),
        credentials);
  }

  public EtcdConnection withCredentials(String user, SecretValue password) {
    return new EtcdConnection(
        endpoints,
        timeout,
        caFile,
        clientCertificate,
        Optional.of(new Credentials(user, password)));
  }

  public EtcdConnection withTimeout(Duration timeout) {
    return new EtcdConnection(endpoints, timeout, caFile, clientCertificate, credentials);
  }

  /** Whether the client speaks TLS to etcd. */
  public boolean usesTls() {
    return !endpoints.isEmpty() && isHttps(endpoints.get(0));
  }

  private static boolean isHttps(String endpoint) {
    return endpoint.regionMatches(true, 0, "https://", 0, "https://".length());
  }
}
