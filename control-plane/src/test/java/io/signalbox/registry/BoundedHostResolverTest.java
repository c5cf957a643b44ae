package io.signalbox.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A slow or hostile DNS server delays a registration by a bounded time, and cannot take every
 * thread.
 */
class BoundedHostResolverTest {

  private final CountDownLatch released = new CountDownLatch(1);

  /** Like the JDK's resolver, it does not stop when interrupted. */
  private final HostResolver hanging =
      host -> {
        com.google.common.util.concurrent.Uninterruptibles.awaitUninterruptibly(released);
        return Optional.of("10.0.0.9");
      };

  @AfterEach
  void release() {
    released.countDown();
  }

  @Test
  void aNameThatDoesNotResolveInTimeIsUnavailableNamingIt() {
    HostResolver resolver = HostResolver.bounded(hanging, Duration.ofMillis(100), 2);

    assertThatThrownBy(() -> resolver.resolve("slow.example.com"))
        .isInstanceOf(HostResolutionUnavailableException.class)
        .hasMessage("'slow.example.com' did not resolve within 100 ms; retry");
  }

  @Test
  void ipLiteralsNeedNoLookupEvenWhileEveryLookupThreadIsStuck() {
    HostResolver resolver =
        HostResolver.bounded(host -> Optional.of(host), Duration.ofMillis(50), 1);
    HostResolver stuck = HostResolver.bounded(hanging, Duration.ofMillis(50), 1);
    assertThatThrownBy(() -> stuck.resolve("slow.example.com"))
        .isInstanceOf(HostResolutionUnavailableException.class);

    assertThat(resolver.resolve("10.0.0.7")).hasValue("10.0.0.7");
  }

  @Test
  void whenTooManyLookupsWaitTheNextIsRefusedAtOnce() {
    HostResolver resolver = HostResolver.bounded(hanging, Duration.ofMillis(20), 1);
    // One lookup runs, eight wait: the thread and the queue are full.
    for (int i = 0; i < 9; i++) {
      int n = i;
      assertThatThrownBy(() -> resolver.resolve("slow-" + n + ".example.com"))
          .isInstanceOf(HostResolutionUnavailableException.class);
    }

    assertThatThrownBy(() -> resolver.resolve("one-more.example.com"))
        .isInstanceOf(HostResolutionUnavailableException.class)
        .hasMessage("too many host names are being resolved; retry");
  }
}
