package io.signalbox.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import io.signalbox.model.AuthRequirement;
import io.signalbox.model.HeaderMatch;
import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.RateLimit;
import io.signalbox.model.Registration;
import io.signalbox.model.RegistryQuotas;
import io.signalbox.model.RouteSpec;
import io.signalbox.testing.TestClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.h2.mvstore.MVStore;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The registry on disk: what a restart (or a crash: the journal's close writes nothing) keeps, how
 * restored leases get their grace period, and how an unreadable store stops the start instead of
 * starting empty.
 */
class PersistentRegistryStoreTest {

  @TempDir Path dataDirectory;

  /** Nanoseconds of a fake clock, far from zero. */
  private final AtomicLong now = new AtomicLong(1_000_000_000_000L);

  private MvStoreJournal journal;

  private InMemoryRegistryStore open(Optional<Duration> grace) {
    return open(grace, java.time.Clock.systemUTC());
  }

  /** As {@link #open(Optional)}, the registry's times read from {@code wallClock}. */
  private InMemoryRegistryStore open(Optional<Duration> grace, java.time.Clock wallClock) {
    journal = MvStoreJournal.open(dataDirectory);
    return InMemoryRegistryStore.restore(
        LeasePolicy.DEFAULT, now::get, wallClock, journal, grace, () -> RegistryQuotas.DEFAULT);
  }

  @org.junit.jupiter.api.AfterEach
  void closeJournal() {
    if (journal != null) {
      journal.close();
    }
  }

  private static Registration registration(String service, String instanceId, RouteSpec... routes) {
    return new Registration(
        service,
        new Instance(
            instanceId, "localhost", "127.0.0.1", 8080, "zone-a", 3, Map.of("version", "1.2")),
        List.of(routes));
  }

  private static RouteSpec fullRoute() {
    return RouteSpec.builder(PathMatch.prefix("/orders"))
        .host("api.example.com")
        .header(new HeaderMatch("x-canary", HeaderMatch.Kind.EXACT, "yes", false))
        .method("POST")
        .prefixRewrite("/")
        .timeout(Duration.ofSeconds(3))
        .auth(
            new AuthRequirement(
                "corp",
                List.of("orders:write"),
                List.of(new AuthRequirement.ClaimRequirement("tenant", List.of("acme"))),
                List.of(new AuthRequirement.ClaimToHeader("sub", "x-user"))))
        .rateLimit(
            new RateLimit(
                10,
                RateLimit.Unit.SECOND,
                RateLimit.Scope.GLOBAL,
                false,
                Optional.of("x-api-key"),
                Optional.of(RateLimit.FailureMode.ALLOW)))
        .build();
  }

  @Nested
  class AfterARestart {

    @Test
    void registrationsRoutesPoliciesAndDrainMarksAreBackWithTheSameLeaseIds() {
      InMemoryRegistryStore before = open(Optional.empty());
      Lease orders =
          before.register(registration("orders", "orders-1", fullRoute()), Optional.empty());
      Lease orders2 =
          before.register(
              registration("orders", "orders-2", fullRoute()), Optional.of(Duration.ofMinutes(1)));
      before.register(
          registration("users", "users-1", RouteSpec.builder(PathMatch.exact("/users")).build()),
          Optional.empty());
      before.setDrained("orders", "orders-2", true, "spiffe://signalbox.local/operator/test");
      List<RegisteredInstance> registered = before.registeredInstances();
      // No clean shutdown: the journal's close writes nothing, exactly like a crash.
      closeJournalOf(before);

      InMemoryRegistryStore after = open(Optional.empty());

      assertThat(after.state().services()).isEqualTo(before.state().services());
      assertThat(after.registeredInstances())
          .usingRecursiveFieldByFieldElementComparatorIgnoringFields("leaseRemaining")
          .isEqualTo(registered);
      assertThat(after.renew(orders.id())).contains(orders);
      assertThat(after.renew(orders2.id()))
          .contains(new Lease(orders2.id(), Duration.ofMinutes(1)));
    }

    @Test
    void theFirstOwnerOfARouteKeepsIt() {
      InMemoryRegistryStore before = open(Optional.empty());
      before.register(
          registration("first", "a", RouteSpec.builder(PathMatch.prefix("/shared")).build()),
          Optional.empty());
      before.register(
          registration("second", "b", RouteSpec.builder(PathMatch.prefix("/own")).build()),
          Optional.empty());
      closeJournalOf(before);

      InMemoryRegistryStore after = open(Optional.empty());

      assertThat(after.state().services()).isEqualTo(before.state().services());
      assertThatThrownBy(
              () ->
                  after.register(
                      registration(
                          "second", "b", RouteSpec.builder(PathMatch.prefix("/shared")).build()),
                      Optional.empty()))
          .isInstanceOf(RouteConflictException.class);
    }

    @Test
    void deregisteredEvictedAndExpiredInstancesStayGone() {
      InMemoryRegistryStore before = open(Optional.empty());
      Lease gone = before.register(registration("a", "1"), Optional.empty());
      before.register(registration("b", "1"), Optional.empty());
      before.register(registration("c", "1"), Optional.of(Duration.ofSeconds(1)));
      before.register(registration("d", "1"), Optional.of(Duration.ofMinutes(5)));
      before.deregister(gone.id());
      before.evict("b", Optional.empty(), "spiffe://signalbox.local/operator/test");
      now.addAndGet(Duration.ofSeconds(2).toNanos());
      assertThat(before.expireLeases()).isEqualTo(1);
      closeJournalOf(before);

      InMemoryRegistryStore after = open(Optional.empty());

      assertThat(after.state().services()).containsOnlyKeys("d");
    }

    @Test
    void everyLeaseGetsAGracePeriodFromTheRestartInsteadOfExpiringAtOnce() {
      InMemoryRegistryStore before = open(Optional.empty());
      Lease lease =
          before.register(registration("orders", "1"), Optional.of(Duration.ofSeconds(1)));
      closeJournalOf(before);
      // The control plane was down far longer than the TTL.
      now.addAndGet(Duration.ofHours(1).toNanos());

      InMemoryRegistryStore after = open(Optional.of(Duration.ofSeconds(5)));

      now.addAndGet(Duration.ofMillis(4900).toNanos());
      assertThat(after.expireLeases()).isZero();
      assertThat(after.renew(lease.id())).as("the SDK's next keep-alive works").isPresent();
      now.addAndGet(Duration.ofMillis(1000).toNanos());
      assertThat(after.expireLeases()).as("one TTL after the renewal").isEqualTo(1);
    }

    @Test
    void aRestoredLeaseKeepsTheExpiryAndRegistrationTimeWrittenByTheStoresWallClock() {
      Instant registered = Instant.parse("2026-12-07T10:00:00Z");
      TestClock wallClock = new TestClock(Duration.ofMillis(registered.toEpochMilli()));
      InMemoryRegistryStore before = open(Optional.empty(), wallClock);
      before.register(registration("orders", "short"), Optional.of(Duration.ofSeconds(10)));
      before.register(registration("orders", "long"), Optional.of(Duration.ofSeconds(60)));
      closeJournalOf(before);
      // Down for 4 s, on both clocks.
      now.addAndGet(Duration.ofSeconds(4).toNanos());
      wallClock.advance(Duration.ofSeconds(4));

      InMemoryRegistryStore after = open(Optional.of(Duration.ofSeconds(30)), wallClock);

      assertThat(after.registeredInstances())
          .allSatisfy(instance -> assertThat(instance.registeredAt()).isEqualTo(registered));
      assertThat(after.registeredInstances())
          .extracting(instance -> instance.instance().id(), RegisteredInstance::leaseRemaining)
          .as(
              "restored at 10:00:04: the short lease (written to expire at 10:00:10) gets the 30 s"
                  + " grace, the long one keeps its expiry, 10:01:00")
          .containsExactlyInAnyOrder(
              tuple("short", Duration.ofSeconds(30)), tuple("long", Duration.ofSeconds(56)));
    }

    @Test
    void withoutAConfiguredGraceALeaseLivesOneTtlAfterTheRestart() {
      InMemoryRegistryStore before = open(Optional.empty());
      before.register(registration("orders", "1"), Optional.of(Duration.ofSeconds(2)));
      closeJournalOf(before);

      InMemoryRegistryStore after = open(Optional.empty());

      now.addAndGet(Duration.ofMillis(1900).toNanos());
      assertThat(after.expireLeases()).isZero();
      now.addAndGet(Duration.ofMillis(200).toNanos());
      assertThat(after.expireLeases()).isEqualTo(1);
    }
  }

  @Nested
  class LeaseOwnersAfterARestart {

    @Test
    void aLeaseKeepsItsRegistrantSoAnotherIdentityIsStillRefused() {
      InMemoryRegistryStore before = open(Optional.empty());
      Lease lease =
          before.register(
              registration("users", "users-1").withRegistrant("spiffe://example.org/users"),
              Optional.empty());
      closeJournalOf(before);

      InMemoryRegistryStore after = open(Optional.empty());

      assertThatThrownBy(
              () ->
                  after.register(
                      registration("users", "users-1").withRegistrant("spiffe://example.org/other"),
                      Optional.empty()))
          .isInstanceOf(NotLeaseOwnerException.class);
      assertThatThrownBy(() -> after.renew(lease.id(), "spiffe://example.org/other"))
          .isInstanceOf(NotLeaseOwnerException.class);
      assertThat(after.renew(lease.id(), "spiffe://example.org/users")).isPresent();
    }
  }

  @Nested
  class AnUnreadableStoreStopsTheStart {

    @Test
    void garbageBytesInTheStoreFile() throws Exception {
      Path file = dataDirectory.resolve(MvStoreJournal.FILE_NAME);
      byte[] garbage = new byte[64 * 1024];
      new java.util.Random(7).nextBytes(garbage);
      Files.write(file, garbage);

      assertThatThrownBy(() -> MvStoreJournal.open(dataDirectory))
          .isInstanceOf(StoreUnreadableException.class)
          .hasMessageContaining(file.toString())
          .satisfies(e -> assertThat(((StoreUnreadableException) e).file()).isEqualTo(file));
      assertThat(Files.readAllBytes(file))
          .as("left as it was, for the operator")
          .isEqualTo(garbage);
    }

    @Test
    void aStoreFileWhoseChunksAreDamaged() throws Exception {
      InMemoryRegistryStore before = open(Optional.empty());
      for (int i = 0; i < 50; i++) {
        before.register(registration("orders", "orders-" + i, fullRoute()), Optional.empty());
      }
      closeJournalOf(before);
      Path file = dataDirectory.resolve(MvStoreJournal.FILE_NAME);
      byte[] bytes = Files.readAllBytes(file);
      byte[] mangled = bytes.clone();
      // Overwrite everything after the file header: the chunks that hold the leases. MVStore itself
      // then opens an
      // empty store (it falls back to the newest readable chunk, and finds none).
      java.util.Arrays.fill(mangled, 8192, mangled.length, (byte) 0x5a);
      Files.write(file, mangled);

      assertThatThrownBy(() -> open(Optional.empty()))
          .isInstanceOf(StoreUnreadableException.class)
          .hasMessageContaining(file.toString());
    }

    @Test
    void theStoreFileIsADirectory() throws Exception {
      Path file = Files.createDirectory(dataDirectory.resolve(MvStoreJournal.FILE_NAME));

      assertThatThrownBy(() -> MvStoreJournal.open(dataDirectory))
          .isInstanceOf(StoreUnreadableException.class)
          .hasMessageContaining(file.toString())
          .hasMessageContaining("not a regular file");
    }

    @Test
    void theDataDirectoryIsAFile() throws Exception {
      Path notADirectory = Files.writeString(dataDirectory.resolve("data"), "hello");

      assertThatThrownBy(() -> MvStoreJournal.open(notADirectory))
          .isInstanceOf(StoreUnreadableException.class)
          .hasMessageContaining(notADirectory.toString())
          .hasMessageContaining("cannot create the data directory");
    }

    @Test
    void aLeaseWrittenByANewerFormatVersion() {
      writeRaw(
          store -> {
            store.<String, Integer>openMap("meta").put("layout", MvStoreJournal.LAYOUT_VERSION);
            store
                .<String, byte[]>openMap("leases")
                .put(
                    "lease-1",
                    "{\"v\":99,\"leaseId\":\"lease-1\"}"
                        .getBytes(java.nio.charset.StandardCharsets.UTF_8));
          });

      assertThatThrownBy(() -> open(Optional.empty()))
          .isInstanceOf(StoreUnreadableException.class)
          .hasMessageContaining("lease entry 1")
          .hasMessageContaining("format version 99 by a newer Signalbox")
          .as("lease ids are credentials")
          .hasMessageNotContaining("lease-1");
    }

    @Test
    void aFileLayoutWrittenByANewerVersion() {
      writeRaw(
          store ->
              store
                  .<String, Integer>openMap("meta")
                  .put("layout", MvStoreJournal.LAYOUT_VERSION + 1));

      assertThatThrownBy(() -> MvStoreJournal.open(dataDirectory))
          .isInstanceOf(StoreUnreadableException.class)
          .hasMessageContaining(
              "layout version " + (MvStoreJournal.LAYOUT_VERSION + 1) + " by a newer Signalbox");
    }

    @Test
    void aLeaseThatIsNotJson() {
      writeRaw(
          store -> {
            store.<String, Integer>openMap("meta").put("layout", MvStoreJournal.LAYOUT_VERSION);
            store.<String, byte[]>openMap("leases").put("lease-1", new byte[] {1, 2, 3});
          });

      assertThatThrownBy(() -> open(Optional.empty()))
          .isInstanceOf(StoreUnreadableException.class)
          .hasMessageContaining("lease entry 1: not JSON")
          .as("lease ids are credentials")
          .hasMessageNotContaining("lease-1");
    }

    private void writeRaw(java.util.function.Consumer<MVStore> writes) {
      MVStore store = MVStore.open(dataDirectory.resolve(MvStoreJournal.FILE_NAME).toString());
      writes.accept(store);
      store.close();
    }
  }

  @Test
  void aSecondControlPlaneCannotOpenTheSameDataDirectory() {
    MvStoreJournal first = MvStoreJournal.open(dataDirectory);
    try {
      assertThatThrownBy(() -> MvStoreJournal.open(dataDirectory))
          .isInstanceOf(StoreUnreadableException.class)
          .hasMessageContaining(MvStoreJournal.FILE_NAME);
    } finally {
      first.close();
    }
  }

  private void closeJournalOf(InMemoryRegistryStore store) {
    journal.close();
  }
}
