package io.signalbox.bench;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;

/** A keep-alive HTTP/1.1 GET client for polling the gateway; returns only the status code. */
interface HttpPoller extends AutoCloseable {

  int get(String path) throws IOException;

  @Override
  void close();

  static HttpPoller create(String kind, String host, int port) {
    return switch (kind) {
      case "raw" -> new Raw(host, port);
      case "jdk" -> new Jdk(host, port);
      default ->
          throw new IllegalArgumentException("unknown HTTP client '" + kind + "' (raw or jdk)");
    };
  }

  /**
   * One persistent socket, TCP_NODELAY, a hand-written request and a minimal response parser
   * (status line, headers, Content-Length or chunked body). Reconnects once if the server closed
   * the connection.
   */
  final class Raw implements HttpPoller {
    private static final int TIMEOUT_MS = 5000;
    private final String host;
    private final int port;
    private Socket socket;
    private InputStream in;
    private OutputStream out;

    Raw(String host, int port) {
      this.host = host;
      this.port = port;
    }

    @Override
    public int get(String path) throws IOException {
      byte[] request =
          ("GET "
                  + path
                  + " HTTP/1.1\r\nHost: "
                  + host
                  + ":"
                  + port
                  + "\r\nUser-Agent: signalbox-bench"
                  + "\r\nAccept: */*\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII);
      for (int attempt = 0; ; attempt++) {
        boolean fresh = socket == null;
        try {
          if (fresh) {
            connect();
          }
          out.write(request);
          out.flush();
          return readResponse();
        } catch (IOException e) {
          close();
          // A reused connection may have been closed by the server just now; a fresh one failing is
          // an answer.
          if (fresh || attempt > 0) {
            throw e;
          }
        }
      }
    }

    private void connect() throws IOException {
      Socket s = new Socket();
      s.setTcpNoDelay(true);
      s.setSoTimeout(TIMEOUT_MS);
      s.connect(new InetSocketAddress(host, port), TIMEOUT_MS);
      socket = s;
      in = new BufferedInputStream(s.getInputStream(), 16384);
      out = s.getOutputStream();
    }

    private int readResponse() throws IOException {
      String statusLine = readLine();
      String[] parts = statusLine.split(" ", 3);
      if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
        throw new IOException("not an HTTP/1.x status line: " + statusLine);
      }
      int status = Integer.parseInt(parts[1]);
      long contentLength = -1;
      boolean chunked = false;
      boolean closeAfter = parts[0].equals("HTTP/1.0");
      for (String line = readLine(); !line.isEmpty(); line = readLine()) {
        int colon = line.indexOf(':');
        if (colon <= 0) {
          continue;
        }
        String name = line.substring(0, colon).trim().toLowerCase(Locale.ROOT);
        String value = line.substring(colon + 1).trim().toLowerCase(Locale.ROOT);
        switch (name) {
          case "content-length" -> contentLength = Long.parseLong(value);
          case "transfer-encoding" -> chunked = value.contains("chunked");
          case "connection" ->
              closeAfter = value.contains("close") || (closeAfter && !value.contains("keep-alive"));
          default -> {}
        }
      }
      if (status == 204 || status == 304 || status / 100 == 1) {
        // no body
      } else if (chunked) {
        while (true) {
          String sizeLine = readLine();
          int semicolon = sizeLine.indexOf(';');
          long size =
              Long.parseLong(
                  (semicolon >= 0 ? sizeLine.substring(0, semicolon) : sizeLine).trim(), 16);
          if (size == 0) {
            while (!readLine().isEmpty()) {
              // trailers
            }
            break;
          }
          skip(size);
          readLine();
        }
      } else if (contentLength >= 0) {
        skip(contentLength);
      } else {
        while (in.read() >= 0) {
          // body until the server closes
        }
        closeAfter = true;
      }
      if (closeAfter) {
        close();
      }
      return status;
    }

    private String readLine() throws IOException {
      ByteArrayOutputStream line = new ByteArrayOutputStream(64);
      while (true) {
        int b = in.read();
        if (b < 0) {
          throw new EOFException("connection closed mid-response");
        }
        if (b == '\n') {
          byte[] bytes = line.toByteArray();
          int length =
              bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
          return new String(bytes, 0, length, StandardCharsets.ISO_8859_1);
        }
        line.write(b);
      }
    }

    private void skip(long count) throws IOException {
      long left = count;
      while (left > 0) {
        long skipped = in.skip(left);
        if (skipped <= 0) {
          if (in.read() < 0) {
            throw new EOFException("connection closed mid-body");
          }
          skipped = 1;
        }
        left -= skipped;
      }
    }

    @Override
    public void close() {
      if (socket != null) {
        try {
          socket.close();
        } catch (IOException ignored) {
          // closing anyway
        }
      }
      socket = null;
      in = null;
      out = null;
    }
  }

  /**
   * java.net.http.HttpClient, HTTP/1.1 (it keeps connections alive in its pool), body discarded.
   */
  final class Jdk implements HttpPoller {
    private final HttpClient client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2))
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
    private final String base;

    Jdk(String host, int port) {
      this.base = "http://" + host + ":" + port;
    }

    @Override
    public int get(String path) throws IOException {
      HttpRequest request =
          HttpRequest.newBuilder(URI.create(base + path))
              .timeout(Duration.ofSeconds(5))
              .GET()
              .build();
      try {
        return client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted", e);
      }
    }

    @Override
    public void close() {
      // HttpClient has no close() before Java 21; its pool dies with it.
    }
  }
}
