package io.signalbox.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RouteSpec;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * Who owns a lease: the identity that registered the instance. Only it may register the instance
 * again, renew or deregister the lease while it is live; a lease registered without TLS is
 * nobody's, and a plaintext caller (empty registrant) may do anything.
 */
class LeaseOwnershipTest {

  private static final String ALICE = "spiffe://example.org/ns/users/sa/users";
  private static final String MALLORY = "spiffe://example.org/ns/other/sa/other";
  private static final String PLAINTEXT = "";

  private final AtomicLong now = new AtomicLong(1_000_000_000_000L);
  private final InMemoryRegistryStore store =
      new InMemoryRegistryStore(LeasePolicy.DEFAULT, now::get);

  private static Registration users1(String registrant, String prefix) {
    return new Registration(
        "users",
        Instance.of("users-1", "10.0.0.1", 8080),
        List.of(RouteSpec.builder(PathMatch.prefix(prefix)).build()),
        registrant);
  }

  private Lease register(Registration registration) {
    return store.register(registration, Optional.empty());
  }

  private List<String> prefixesOfUsers() {
    return store.state().services().get("users").routes().stream()
        .map(r -> r.match().path().value())
        .toList();
  }

  @Nested
  class RegisteringAgain {

    @Test
    void anotherIdentityCannotRegisterALiveInstanceAndTheOriginalLeaseIsUntouched() {
      Lease lease = register(users1(ALICE, "/users"));
      Duration halfTtl = LeasePolicy.DEFAULT.defaultTtl().dividedBy(2);
      now.addAndGet(halfTtl.toNanos());
      long revision = store.state().revision();

      assertThatThrownBy(() -> register(users1(MALLORY, "/stolen")))
          .isInstanceOf(NotLeaseOwnerException.class)
          .hasMessage("instance users/users-1 is registered by another identity")
          .hasMessageNotContaining(lease.id());

      assertThat(store.state().revision()).isEqualTo(revision);
      assertThat(prefixesOfUsers()).containsExactly("/users");
      assertThat(store.engine().leaseIdOf("users", "users-1")).contains(lease.id());
      // Not renewed by the refused registration: it expires when the owner's lease would have.
      now.addAndGet(halfTtl.toNanos());
      assertThat(store.renew(lease.id(), ALICE)).isEmpty();
    }

    @Test
    void theSameIdentityRegistersAgainUnderTheSameLeaseId() {
      Lease lease = register(users1(ALICE, "/users"));

      Lease again = register(users1(ALICE, "/users/v2"));

      assertThat(again.id()).isEqualTo(lease.id());
      assertThat(prefixesOfUsers()).containsExactly("/users/v2");
    }

    @Test
    void aLeaseRegisteredWithoutTlsIsAdoptedByTheFirstIdentityThatRegistersIt() {
      Lease lease = register(users1(PLAINTEXT, "/users"));

      Lease adopted = register(users1(ALICE, "/users"));

      assertThat(adopted.id()).isEqualTo(lease.id());
      assertThatThrownBy(() -> register(users1(MALLORY, "/users")))
          .isInstanceOf(NotLeaseOwnerException.class);
      assertThatThrownBy(() -> store.renew(lease.id(), MALLORY))
          .isInstanceOf(NotLeaseOwnerException.class);
    }

    @Test
    void aPlaintextCallerMayRegisterAnyInstanceAgain() {
      Lease lease = register(users1(ALICE, "/users"));

      assertThat(register(users1(PLAINTEXT, "/users")).id()).isEqualTo(lease.id());
    }

    @Test
    void anExpiredLeaseNotYetRemovedIsNobodysAndAnotherIdentityMayRegisterTheInstance() {
      register(users1(ALICE, "/users"));
      now.addAndGet(LeasePolicy.DEFAULT.defaultTtl().toNanos());

      register(users1(MALLORY, "/users"));

      assertThatThrownBy(() -> register(users1(ALICE, "/users")))
          .isInstanceOf(NotLeaseOwnerException.class);
    }

    @Test
    void ownershipIsPerInstanceSoAnotherIdentityMayRegisterAnotherInstanceOfTheService() {
      register(users1(ALICE, "/users"));

      Lease other =
          store.register(
              new Registration(
                  "users",
                  Instance.of("users-2", "10.0.0.2", 8080),
                  List.of(RouteSpec.builder(PathMatch.prefix("/users")).build()),
                  MALLORY),
              Optional.empty());

      assertThat(other.id())
          .isNotEqualTo(store.engine().leaseIdOf("users", "users-1").orElseThrow());
    }
  }

  @Nested
  class RenewingAndDeregistering {

    @Test
    void anotherIdentityCannotRenewTheLeaseAndItStaysLive() {
      Lease lease = register(users1(ALICE, "/users"));

      assertThatThrownBy(() -> store.renew(lease.id(), MALLORY))
          .isInstanceOf(NotLeaseOwnerException.class)
          .hasMessage("instance users/users-1 is registered by another identity");

      assertThat(store.leaseCounts()).isEqualTo(new RegistryStore.LeaseCounts(1, 0));
      assertThat(store.renew(lease.id(), ALICE)).contains(lease);
    }

    @Test
    void anotherIdentityCannotDeregisterTheLeaseAndTheInstanceStaysServed() {
      Lease lease = register(users1(ALICE, "/users"));

      assertThatThrownBy(() -> store.deregister(lease.id(), MALLORY))
          .isInstanceOf(NotLeaseOwnerException.class)
          .hasMessageNotContaining(lease.id());

      assertThat(store.state().services()).containsKey("users");
      assertThat(store.renew(lease.id(), ALICE)).contains(lease);
    }

    @Test
    void theOwnerRenewsAndDeregisters() {
      Lease lease = register(users1(ALICE, "/users"));

      assertThat(store.renew(lease.id(), ALICE)).contains(lease);
      assertThat(store.deregister(lease.id(), ALICE)).isTrue();

      assertThat(store.state().services()).isEmpty();
    }

    @Test
    void aPlaintextCallerRenewsAndDeregistersAnyLease() {
      Lease lease = register(users1(ALICE, "/users"));

      assertThat(store.renew(lease.id(), PLAINTEXT)).contains(lease);
      assertThat(store.deregister(lease.id(), PLAINTEXT)).isTrue();
    }

    @Test
    void anyIdentityRenewsAndDeregistersALeaseRegisteredWithoutTls() {
      Lease lease = register(users1(PLAINTEXT, "/users"));

      assertThat(store.renew(lease.id(), MALLORY)).contains(lease);
      assertThat(store.deregister(lease.id(), MALLORY)).isTrue();
    }

    @Test
    void anUnknownLeaseIsAnsweredAsUnknownWhoeverAsks() {
      assertThat(store.renew("lease-unknown", MALLORY)).isEmpty();
      assertThat(store.deregister("lease-unknown", MALLORY)).isFalse();
    }

    @Test
    void anExpiredLeaseIsNotRenewedForAnyoneAndNotReportedAsAnotherIdentitys() {
      Lease lease = register(users1(ALICE, "/users"));
      now.addAndGet(LeasePolicy.DEFAULT.defaultTtl().toNanos());

      assertThat(store.renew(lease.id(), MALLORY)).isEmpty();
      assertThat(store.renew(lease.id(), ALICE)).isEmpty();
    }
  }
}
