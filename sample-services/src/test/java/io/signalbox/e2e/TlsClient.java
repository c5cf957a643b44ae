package io.signalbox.e2e;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * An HTTPS client that shows what TLS tests need to see: which certificate the server presented,
 * which protocol version was negotiated, and whether one connection keeps serving requests.
 * HTTP/1.1 over an {@link SSLSocket}, talking to 127.0.0.1 while asking (by SNI) for any host name,
 * which is what picks a certificate.
 */
final class TlsClient {

  private static final int TIMEOUT_MILLIS = 5000;

  private final SSLContext context;
  private final List<String> protocols;
  private final List<String> applicationProtocols;

  private TlsClient(SSLContext context, List<String> protocols, List<String> applicationProtocols) {
    this.context = context;
    this.protocols = protocols;
    this.applicationProtocols = applicationProtocols;
  }

  /** Trusts only {@code authority}; offers TLS 1.2 and 1.3. */
  static TlsClient trusting(X509Certificate authority) {
    try {
      KeyStore trusted = KeyStore.getInstance(KeyStore.getDefaultType());
      trusted.load(null, null);
      trusted.setCertificateEntry("test-ca", authority);
      TrustManagerFactory trust =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trust.init(trusted);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, trust.getTrustManagers(), null);
      return new TlsClient(context, List.of("TLSv1.3", "TLSv1.2"), List.of());
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("cannot set up a TLS client", e);
    }
  }

  /** The same client offering only {@code versions}, such as {@code "TLSv1.2"}. */
  TlsClient onlyProtocols(String... versions) {
    return new TlsClient(context, List.of(versions), applicationProtocols);
  }

  /**
   * The same client offering these protocols by ALPN, such as {@code "h2"}; by default it offers
   * none.
   */
  TlsClient offeringAlpn(String... names) {
    return new TlsClient(context, protocols, List.of(names));
  }

  /**
   * Connects to 127.0.0.1:{@code port} and completes the handshake, sending {@code serverName} as
   * SNI and checking that the certificate is valid for it.
   */
  Connection connect(int port, String serverName) throws IOException {
    return connect(port, Optional.of(serverName), true);
  }

  /**
   * Connects sending {@code serverName} as SNI, but accepts any certificate the authority issued.
   */
  Connection connectWithoutHostCheck(int port, String serverName) throws IOException {
    return connect(port, Optional.of(serverName), false);
  }

  /**
   * Connects without SNI, so the server picks its default certificate; only the chain is checked.
   */
  Connection connectWithoutSni(int port) throws IOException {
    return connect(port, Optional.empty(), false);
  }

  private Connection connect(int port, Optional<String> serverName, boolean checkHost)
      throws IOException {
    Socket plain = new Socket();
    try {
      plain.connect(new InetSocketAddress("127.0.0.1", port), TIMEOUT_MILLIS);
      plain.setSoTimeout(TIMEOUT_MILLIS);
      SSLSocket socket =
          (SSLSocket)
              context
                  .getSocketFactory()
                  .createSocket(plain, serverName.orElse("127.0.0.1"), port, true);
      SSLParameters parameters = socket.getSSLParameters();
      parameters.setProtocols(protocols.toArray(String[]::new));
      parameters.setApplicationProtocols(applicationProtocols.toArray(String[]::new));
      parameters.setServerNames(
          serverName
              .<List<SNIServerName>>map(name -> List.of(new SNIHostName(name)))
              .orElse(List.of()));
      parameters.setEndpointIdentificationAlgorithm(checkHost ? "HTTPS" : null);
      socket.setSSLParameters(parameters);
      socket.startHandshake();
      return new Connection(socket);
    } catch (IOException | RuntimeException e) {
      plain.close();
      throw e;
    }
  }

  /** An HTTP/1.1 response; header names in lower case. */
  record Response(int status, Map<String, String> headers, String body) {

    Optional<String> header(String name) {
      return Optional.ofNullable(headers.get(name.toLowerCase(Locale.ROOT)));
    }
  }

  /** One TLS connection, kept open between requests. */
  static final class Connection implements AutoCloseable {
    private final SSLSocket socket;
    private final InputStream in;
    private final OutputStream out;

    private Connection(SSLSocket socket) throws IOException {
      this.socket = socket;
      this.in = new BufferedInputStream(socket.getInputStream());
      this.out = socket.getOutputStream();
    }

    X509Certificate serverCertificate() {
      try {
        return (X509Certificate) socket.getSession().getPeerCertificates()[0];
      } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
        throw new IllegalStateException("the handshake is complete, so the peer is verified", e);
      }
    }

    /** What ALPN settled on; empty when the client offered nothing. */
    String applicationProtocol() {
      return socket.getApplicationProtocol();
    }

    /** {@code TLSv1.2} or {@code TLSv1.3}. */
    String protocol() {
      return socket.getSession().getProtocol();
    }

    /** GETs {@code path} on this connection with the given Host header. */
    Response get(String host, String path) {
      try {
        out.write(
            ("GET "
                    + path
                    + " HTTP/1.1\r\nHost: "
                    + host
                    + "\r\nUser-Agent: signalbox-tls-test\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return readResponse();
      } catch (IOException e) {
        throw new UncheckedIOException("GET " + path + " on " + socket + " failed: " + e, e);
      }
    }

    private Response readResponse() throws IOException {
      Http1ResponseReader.Read read = Http1ResponseReader.read(in);
      return new Response(read.status(), read.headers(), read.body());
    }

    @Override
    public void close() {
      try {
        socket.close();
      } catch (IOException ignored) {
        // Closing is all that was asked.
      }
    }
  }
}
