package io.signalbox.e2e;

import static org.awaitility.Awaitility.await;

import io.signalbox.testing.EnvoyProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Several Envoys of one group all bind the same listener port (Envoy sets SO_REUSEPORT) and the
 * kernel spreads new connections among them. This finds, for each Envoy, a keep-alive connection
 * that it serves, by watching which Envoy's connection count rises as each new connection makes its
 * first request.
 */
final class RateLimitEnvoyPinning {

  /** The listener's stats prefix is its name, {@code http} in the fixture's settings. */
  private static final String CONNECTIONS_STAT = "http.http.downstream_cx_total";

  private static final int MAX_ATTEMPTS = 64;

  private RateLimitEnvoyPinning() {}

  /**
   * One open connection per Envoy, in the order of {@code envoys}; {@code readyPath} must answer
   * 200 once the Envoy has the configuration the test needs (it is requested once on each
   * connection, until it does).
   */
  static List<RateLimitHttpConnection> connectionPerEnvoy(
      int port, List<EnvoyProcess> envoys, String readyPath, Duration timeout) {
    RateLimitHttpConnection[] pinned = new RateLimitHttpConnection[envoys.size()];
    List<RateLimitHttpConnection> spare = new ArrayList<>();
    try {
      int found = 0;
      for (int attempt = 0; attempt < MAX_ATTEMPTS && found < envoys.size(); attempt++) {
        long[] before = connectionCounts(envoys);
        RateLimitHttpConnection connection = RateLimitHttpConnection.open(port);
        await("GET " + readyPath + " to answer 200")
            .atMost(timeout)
            .pollInterval(Duration.ofMillis(100))
            .until(() -> connection.get(readyPath).status() == 200);
        long[] after = connectionCounts(envoys);
        int servedBy = -1;
        for (int i = 0; i < envoys.size(); i++) {
          if (after[i] > before[i]) {
            servedBy = servedBy == -1 ? i : -2;
          }
        }
        if (servedBy >= 0 && pinned[servedBy] == null) {
          pinned[servedBy] = connection;
          found++;
        } else {
          spare.add(connection);
        }
      }
      if (found < envoys.size()) {
        throw new AssertionError(
            "the kernel sent " + MAX_ATTEMPTS + " connections to the same Envoys: " + envoys);
      }
      return List.of(pinned);
    } catch (RuntimeException | AssertionError e) {
      for (RateLimitHttpConnection connection : pinned) {
        if (connection != null) {
          connection.close();
        }
      }
      throw e;
    } finally {
      spare.forEach(RateLimitHttpConnection::close);
    }
  }

  private static long[] connectionCounts(List<EnvoyProcess> envoys) {
    long[] counts = new long[envoys.size()];
    for (int i = 0; i < envoys.size(); i++) {
      counts[i] = envoys.get(i).findStat(CONNECTIONS_STAT).orElse(0);
    }
    return counts;
  }
}
