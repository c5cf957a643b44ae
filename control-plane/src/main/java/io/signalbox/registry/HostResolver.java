package io.signalbox.registry;

import com.google.common.net.InetAddresses;
import com.google.common.util.concurrent.ThreadFactoryBuilder;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Turns a registered host into the IP address Envoy connects to. EDS endpoints must be IP
 * addresses, so a DNS name is resolved once, when the instance registers (a self-registering
 * service knows where it runs).
 */
@FunctionalInterface
public interface HostResolver {

  /** The address as text, or empty when the name does not resolve. */
  Optional<String> resolve(String host);

  /**
   * The system resolver, bounded: names are resolved on a few threads of their own and a lookup
   * that takes longer than {@code timeout} (a slow or hostile DNS server) is given up, so a
   * registration never holds a gRPC thread for long and a burst of slow names cannot take them all.
   *
   * @throws HostResolutionUnavailableException from {@link #resolve} when the lookup times out or
   *     too many are waiting
   */
  static HostResolver bounded(HostResolver delegate, Duration timeout, int threads) {
    ThreadPoolExecutor executor =
        new ThreadPoolExecutor(
            threads,
            threads,
            30,
            TimeUnit.SECONDS,
            new ArrayBlockingQueue<>(threads * 8),
            new ThreadFactoryBuilder().setNameFormat("signalbox-dns-%d").setDaemon(true).build());
    executor.allowCoreThreadTimeOut(true);
    return host -> {
      if (InetAddresses.isInetAddress(host)) {
        return delegate.resolve(host);
      }
      Future<Optional<String>> lookup;
      try {
        lookup = executor.submit(() -> delegate.resolve(host));
      } catch (RejectedExecutionException e) {
        throw new HostResolutionUnavailableException(
            "too many host names are being resolved; retry");
      }
      try {
        return lookup.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
      } catch (TimeoutException e) {
        lookup.cancel(true);
        throw new HostResolutionUnavailableException(
            "'" + host + "' did not resolve within " + timeout.toMillis() + " ms; retry");
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new HostResolutionUnavailableException("interrupted while resolving '" + host + "'");
      } catch (ExecutionException e) {
        return Optional.empty();
      }
    };
  }

  /** IP literals as they are; names through the system resolver. */
  static HostResolver system() {
    return host -> {
      if (InetAddresses.isInetAddress(host)) {
        return Optional.of(InetAddresses.toAddrString(InetAddresses.forString(host)));
      }
      try {
        return Optional.of(InetAddresses.toAddrString(InetAddress.getByName(host)));
      } catch (UnknownHostException e) {
        return Optional.empty();
      }
    };
  }
}
