package io.signalbox.store;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import io.netty.handler.ssl.SslContextBuilder;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLException;

/** Builds the jetcd client for an {@link EtcdConnection}. */
final class EtcdClients {

  /** TLS alerts by which a server refuses the client's certificate, or the lack of one. */
  private static final List<String> CLIENT_CERTIFICATE_ALERTS =
      List.of("bad_certificate", "certificate_required", "unknown_ca", "certificate_unknown");

  private EtcdClients() {}

  /**
   * A client for {@code connection}; it connects on its first call.
   *
   * @throws StoreUnavailableException when a TLS file cannot be used (the message names the file,
   *     never its content)
   */
  static Client open(EtcdConnection connection) {
    return open(connection, true);
  }

  /**
   * With {@code waitForReady} (jetcd's default, the store's client), a call waits for a channel
   * that cannot connect until its own timeout; without it, the call fails with the reason, as the
   * probe needs.
   */
  private static Client open(EtcdConnection connection, boolean waitForReady) {
    ClientBuilder builder =
        Client.builder()
            .endpoints(connection.endpoints().toArray(String[]::new))
            .connectTimeout(connection.timeout())
            .retryMaxDuration(connection.timeout())
            .waitForReady(waitForReady);
    if (connection.usesTls()) {
      try {
        // jetcd hands us GrpcSslContexts.forClient(): ALPN h2 and the ciphers gRPC needs are
        // already set.
        builder.sslContext(ssl -> configureTls(ssl, connection));
      } catch (SSLException | IllegalArgumentException e) {
        throw new StoreUnavailableException("cannot set up TLS to etcd: " + e.getMessage(), e);
      }
    }
    connection
        .credentials()
        .ifPresent(
            credentials ->
                builder
                    .user(ByteSequence.from(credentials.user(), StandardCharsets.UTF_8))
                    .password(
                        ByteSequence.from(
                            credentials.password().reveal(), StandardCharsets.UTF_8)));
    return builder.build();
  }

  private static void configureTls(SslContextBuilder ssl, EtcdConnection connection) {
    // Without a CA file, the JVM's default trust store decides.
    connection.caFile().ifPresent(file -> ssl.trustManager(file.toFile()));
    connection
        .clientCertificate()
        .ifPresent(
            certificate ->
                ssl.keyManager(
                    certificate.certificateFile().toFile(), certificate.keyFile().toFile()));
  }

  /**
   * One quick call before the store starts, so that a refused certificate or password stops the
   * start at once with a message saying so (a jetcd call waits for a TLS channel that keeps failing
   * until it times out, and then says nothing of why). Plaintext without a user has nothing to
   * refuse and is not probed. Anything else that fails here, such as an etcd that is not up yet, is
   * left to the store's own calls and their timeouts.
   *
   * @throws StoreUnavailableException when etcd refused this client's TLS or credentials
   */
  static void checkAccess(EtcdConnection connection) {
    if (!connection.usesTls() && connection.credentials().isEmpty()) {
      return;
    }
    Throwable failure;
    // Longer than jetcd's retries (the connection's timeout), so that the probe ends with their
    // last error.
    try (Client probe = open(connection, false)) {
      // A transaction that never writes but would: etcd checks the permissions of both branches, so
      // a role that
      // may only read is refused here too, with the message below, not later by a raw "permission
      // denied".
      ByteSequence guard = ByteSequence.from(EtcdRegistryStore.GUARD, StandardCharsets.UTF_8);
      probe
          .getKVClient()
          .txn()
          .If(
              new io.etcd.jetcd.op.Cmp(
                  guard, io.etcd.jetcd.op.Cmp.Op.LESS, io.etcd.jetcd.op.CmpTarget.version(0)))
          .Then(io.etcd.jetcd.op.Op.put(guard, guard, io.etcd.jetcd.options.PutOption.DEFAULT))
          .Else(io.etcd.jetcd.op.Op.get(guard, io.etcd.jetcd.options.GetOption.DEFAULT))
          .commit()
          .get(connection.timeout().toMillis() * 2 + 1000, TimeUnit.MILLISECONDS);
      return;
    } catch (ExecutionException e) {
      failure = e.getCause() == null ? e : e.getCause();
    } catch (TimeoutException e) {
      return;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoreUnavailableException("interrupted while connecting to etcd", e);
    }
    String refusal = refusal(failure, connection);
    if (refusal != null) {
      throw new StoreUnavailableException(refusal, failure);
    }
  }

  /**
   * What {@code failure} says about this client's certificate, trust or credentials; null when it
   * is none of these.
   */
  private static String refusal(Throwable failure, EtcdConnection connection) {
    List<Throwable> chain = new ArrayList<>();
    for (Throwable cause = failure;
        cause != null && !chain.contains(cause);
        cause = cause.getCause()) {
      chain.add(cause);
    }
    String endpoints = String.join(",", connection.endpoints());
    String user = connection.credentials().map(EtcdConnection.Credentials::user).orElse(null);
    for (Throwable cause : chain) {
      if (cause instanceof CertPathBuilderException
          || cause instanceof CertPathValidatorException) {
        return "etcd's server certificate at "
            + endpoints
            + " is not trusted by "
            + connection
                .caFile()
                .map(file -> "the CA in " + file)
                .orElse("the JVM's trust store (give etcd's CA file)")
            + ": "
            + cause.getMessage();
      }
    }
    for (Throwable cause : chain) {
      String message = String.valueOf(cause.getMessage());
      if (cause instanceof SSLException
          && CLIENT_CERTIFICATE_ALERTS.stream().anyMatch(message::contains)) {
        return connection
            .clientCertificate()
            .map(
                certificate ->
                    "etcd at "
                        + endpoints
                        + " refused the client certificate "
                        + certificate.certificateFile()
                        + " ("
                        + message
                        + "): is it signed by etcd's --trusted-ca-file?")
            .orElse("etcd at " + endpoints + " requires a client certificate (" + message + ")");
      }
      if (cause instanceof SSLException) {
        return "TLS with etcd at " + endpoints + " failed: " + message;
      }
      if (message.contains("authentication failed, invalid user ID or password")) {
        return "etcd refused user " + user + ": wrong user name or password";
      }
      if (message.contains("user name is empty") || message.contains("user name not found")) {
        return "etcd requires a user and password (its authentication is enabled): " + message;
      }
      if (message.contains("permission denied")) {
        return "etcd "
            + (user == null ? "" : "user " + user + " ")
            + "may not read and write the registry: its role needs readwrite on the prefix "
            + EtcdRegistryStore.ROOT;
      }
    }
    return null;
  }
}
