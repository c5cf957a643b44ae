package io.signalbox.e2e;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;

/**
 * One HTTP/1.1 keep-alive connection, from a local address of the test's choosing. Rate-limit tests
 * need both: a request's client address is what a per-client limit counts, and with two Envoys
 * sharing a listener port (the kernel spreads connections between them) only a kept connection says
 * which Envoy serves a request.
 */
final class RateLimitHttpConnection implements AutoCloseable {

  /** Header names lowercase, one value each (the last). */
  record Response(int status, Map<String, String> headers, String body) {
    String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }
  }

  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;

  private RateLimitHttpConnection(Socket socket) throws IOException {
    this.socket = socket;
    this.in = socket.getInputStream();
    this.out = socket.getOutputStream();
  }

  /**
   * Connects to 127.0.0.1:{@code port} from {@code localAddress} (any 127.x.y.z works on Linux
   * loopback).
   */
  static RateLimitHttpConnection open(int port, String localAddress) {
    Socket socket = new Socket();
    try {
      socket.bind(new InetSocketAddress(InetAddress.getByName(localAddress), 0));
      socket.connect(new InetSocketAddress("127.0.0.1", port), 2_000);
      socket.setSoTimeout(5_000);
      socket.setTcpNoDelay(true);
      return new RateLimitHttpConnection(socket);
    } catch (IOException e) {
      try {
        socket.close();
      } catch (IOException ignored) {
        // Already failing.
      }
      throw new UncheckedIOException(
          "cannot connect to 127.0.0.1:" + port + " from " + localAddress, e);
    }
  }

  static RateLimitHttpConnection open(int port) {
    return open(port, "127.0.0.1");
  }

  Response get(String path) {
    return get(path, Map.of());
  }

  Response get(String path, Map<String, String> headers) {
    StringBuilder request =
        new StringBuilder("GET ").append(path).append(" HTTP/1.1\r\nHost: gateway\r\n");
    headers.forEach(
        (name, value) -> request.append(name).append(": ").append(value).append("\r\n"));
    request.append("\r\n");
    try {
      out.write(request.toString().getBytes(StandardCharsets.US_ASCII));
      out.flush();
      return readResponse();
    } catch (IOException e) {
      throw new UncheckedIOException("GET " + path + " on " + socket + " failed", e);
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
      // Nothing left to do with it.
    }
  }
}
