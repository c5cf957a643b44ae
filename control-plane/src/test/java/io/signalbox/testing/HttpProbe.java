package io.signalbox.testing;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

/**
 * Plain HTTP/1.1 GETs for tests: through an Envoy listener, against an admin endpoint or a sample
 * service.
 */
public final class HttpProbe {

  /** What came back. Header lookups through {@link HttpHeaders} are case-insensitive. */
  public record Response(int status, String body, HttpHeaders headers) {}

  private static final String RESTRICTED_HEADERS_PROPERTY = "jdk.httpclient.allowRestrictedHeaders";
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);
  private static final Duration POLL_INTERVAL = Duration.ofMillis(100);
  private static final HttpClient CLIENT;

  static {
    // Routing tests pick an Envoy virtual host by Host header, which the JDK client refuses to set
    // unless allowed
    // before its first use in this JVM.
    if (System.getProperty(RESTRICTED_HEADERS_PROPERTY) == null) {
      System.setProperty(RESTRICTED_HEADERS_PROPERTY, "host");
    }
    CLIENT =
        HttpClient.newBuilder()
            // HTTP/1.1 only: the JDK would otherwise attempt an h2c upgrade, which is not what the
            // tests exercise.
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2))
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
  }

  private HttpProbe() {}

  public static Response get(String url) {
    return get(url, Map.of());
  }

  public static Response get(String url, Map<String, String> headers) {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(url)).timeout(REQUEST_TIMEOUT).GET();
    headers.forEach(request::header);
    try {
      HttpResponse<String> response =
          CLIENT.send(request.build(), HttpResponse.BodyHandlers.ofString());
      return new Response(response.statusCode(), response.body(), response.headers());
    } catch (IOException e) {
      throw new UncheckedIOException("GET " + url + " failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted during GET " + url, e);
    }
  }

  /**
   * Polls {@code url} until it answers {@code status} and returns that response. Connection errors
   * count as "not yet", since the usual reason to wait is a listener or route that the control
   * plane has not pushed yet.
   */
  public static Response awaitStatus(String url, int status, Duration timeout) {
    return awaitStatus(url, Map.of(), status, timeout);
  }

  public static Response awaitStatus(
      String url, Map<String, String> headers, int status, Duration timeout) {
    return await("GET " + url + " " + headers + " to answer " + status)
        .atMost(timeout)
        .pollDelay(Duration.ZERO)
        .pollInterval(POLL_INTERVAL)
        .ignoreExceptions()
        .until(() -> get(url, headers), response -> response.status() == status);
  }
}
