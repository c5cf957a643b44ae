package io.signalbox.registry;

import static org.assertj.core.api.Assertions.assertThat;

import io.signalbox.metrics.SignalboxMetrics;
import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RouteAction;
import io.signalbox.model.RouteSpec;
import io.signalbox.security.AccessControl;
import io.signalbox.security.AccessPolicy;
import io.signalbox.security.AccessPolicy.RegistrantRule;
import io.signalbox.security.AccessPolicy.ServiceGrant;
import io.signalbox.security.AuditLog;
import io.signalbox.security.IdentityPattern;
import io.signalbox.store.InMemoryRegistryStore;
import io.signalbox.store.LeasePolicy;
import io.signalbox.store.RevokedRegistration;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A lease lasts only as long as its registration would be admitted: when the operator narrows the
 * access policy, the registrations it no longer admits are deregistered, each with the reason a new
 * registration would be refused for.
 */
class AccessRevocationTest {

  private static final String SHOP_CI = "spiffe://signalbox.local/team/shop/ci";
  private static final String USERS = "spiffe://signalbox.local/service/users";

  private final AtomicReference<AccessPolicy> policy = new AtomicReference<>(AccessPolicy.DEFAULT);
  private final InMemoryRegistryStore store = new InMemoryRegistryStore(LeasePolicy.DEFAULT);
  private final SignalboxMetrics metrics = SignalboxMetrics.prometheus();

  private final java.util.concurrent.ScheduledExecutorService retries =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor();

  @AfterEach
  void closeMetrics() {
    metrics.close();
    retries.shutdownNow();
  }

  private AccessRevocation revocation(AccessControl access) {
    return new AccessRevocation(
        store,
        access,
        AuditLog.toLogger(Clock.systemUTC()),
        metrics,
        retries,
        java.time.Duration.ofMillis(50));
  }

  private List<RevokedRegistration> revokeWithIdentities() {
    return revocation(AccessControl.enforcing(policy::get)).revokeRefused("revoked by test");
  }

  private static AccessPolicy policy(List<RegistrantRule> registrants, List<ServiceGrant> grants) {
    return new AccessPolicy(
        AccessPolicy.DEFAULT_TRUST_DOMAIN,
        registrants,
        AccessPolicy.grantsByService(grants),
        List.of(),
        List.of());
  }

  private static RegistrantRule shopMayRegister(String... services) {
    return new RegistrantRule(new IdentityPattern(SHOP_CI), Set.of(services));
  }

  private void register(String service, String registrant, RouteSpec route) {
    store.register(
        new Registration(
            service, Instance.of(service + "-1", "10.0.0.1", 8080), List.of(route), registrant),
        Optional.empty());
  }

  private static RouteSpec prefix(String prefix) {
    return RouteSpec.builder(PathMatch.prefix(prefix)).build();
  }

  private static String described(RevokedRegistration revoked) {
    return revoked.service() + "/" + revoked.instanceId() + ": " + revoked.reason();
  }

  @Test
  void anIdentityNoLongerAllowedToRegisterAServiceLosesItsLeasesAndNoOtherLeaseGoes() {
    policy.set(policy(List.of(shopMayRegister("catalog")), List.of()));
    register("catalog", SHOP_CI, prefix("/catalog"));
    register("users", USERS, prefix("/users"));

    policy.set(AccessPolicy.DEFAULT);
    List<RevokedRegistration> revoked = revokeWithIdentities();

    assertThat(revoked)
        .extracting(AccessRevocationTest::described)
        .containsExactly(
            "catalog/catalog-1: identity '" + SHOP_CI + "' may not register service 'catalog'");
    assertThat(revoked.get(0).registrant()).isEqualTo(SHOP_CI);
    assertThat(store.state().services()).containsOnlyKeys("users");
    assertThat(metrics.scrape()).contains("signalbox_leases_revoked_total 1.0");
  }

  @Test
  void aRouteOnAHostTakenFromTheServicesGrantIsRevokedNamingTheField() {
    policy.set(
        policy(
            List.of(),
            List.of(
                new ServiceGrant(
                    "users", List.of("api.example.com", "www.example.com"), List.of("/users")))));
    register(
        "users",
        USERS,
        RouteSpec.builder(PathMatch.prefix("/users")).host("www.example.com").build());

    policy.set(
        policy(
            List.of(),
            List.of(new ServiceGrant("users", List.of("api.example.com"), List.of("/users")))));

    assertThat(revokeWithIdentities())
        .extracting(AccessRevocationTest::described)
        .containsExactly(
            "users/users-1: routes[0].hosts[0]: service 'users' may not claim host"
                + " 'www.example.com'; its grant allows [api.example.com]");
  }

  @Test
  void aMirrorToAServiceTheRegistrantMayNoLongerRegisterIsRevoked() {
    policy.set(policy(List.of(shopMayRegister("catalog", "catalog-shadow")), List.of()));
    register(
        "catalog",
        SHOP_CI,
        RouteSpec.builder(PathMatch.prefix("/catalog"))
            .action(
                RouteAction.Forward.builder()
                    .mirror(Optional.of(new RouteAction.Mirror("catalog-shadow", 10)))
                    .build())
            .build());
    assertThat(revokeWithIdentities()).as("admitted as it was registered").isEmpty();

    policy.set(policy(List.of(shopMayRegister("catalog")), List.of()));

    assertThat(revokeWithIdentities())
        .extracting(AccessRevocationTest::described)
        .containsExactly(
            "catalog/catalog-1: routes[0].mirror.service: identity '"
                + SHOP_CI
                + "' may not register service 'catalog-shadow', so it may not mirror requests to"
                + " it");
  }

  @Test
  void withoutTlsIdentitiesDecideNothingButAGrantNarrowedStillRevokes() {
    AccessRevocation plaintext = revocation(AccessControl.plaintext(policy::get));
    policy.set(
        policy(
            List.of(),
            List.of(new ServiceGrant("orders", List.of("*"), List.of("/orders", "/legacy")))));
    register("orders", "", prefix("/legacy"));
    register("catalog", "", prefix("/catalog"));

    policy.set(
        policy(List.of(), List.of(new ServiceGrant("orders", List.of("*"), List.of("/orders")))));

    assertThat(plaintext.revokeRefused("revoked by test"))
        .extracting(AccessRevocationTest::described)
        .singleElement()
        .asString()
        .startsWith("orders/orders-1: routes[0].path: ");
    assertThat(store.state().services()).containsOnlyKeys("catalog");
  }

  @Test
  void aLeaseMadeWithoutTlsIsJudgedByItsRoutesAloneOnAControlPlaneThatNowAuthenticates() {
    // Made while the control plane ran without TLS: it belongs to nobody in particular, and the
    // first authenticated caller allowed to register the service adopts it.
    policy.set(
        policy(List.of(), List.of(new ServiceGrant("orders", List.of("*"), List.of("/orders")))));
    register("orders", "", prefix("/orders"));
    register("legacy", "", prefix("/legacy"));

    assertThat(revokeWithIdentities()).isEmpty();

    policy.set(
        policy(
            List.of(), List.of(new ServiceGrant("orders", List.of("*"), List.of("/v2/orders")))));
    assertThat(revokeWithIdentities())
        .extracting(AccessRevocationTest::described)
        .singleElement()
        .asString()
        .startsWith("orders/orders-1: routes[0].path: ");
  }

  @Test
  void aRegistrationJudgedByAPolicyReplacedBeforeItWasStoredIsJudgedAgainAndRefused() {
    policy.set(policy(List.of(shopMayRegister("catalog")), List.of()));
    AccessControl access = AccessControl.enforcing(policy::get);
    // The operator takes the rule back while the registration is validated (its host resolved),
    // and the revocation that follows runs before the registration is stored.
    HostResolver reloadWhileResolving =
        host -> {
          policy.set(AccessPolicy.DEFAULT);
          revocation(access).revokeRefused("revoked by test");
          return Optional.of("10.0.0.7");
        };
    RegistryService service =
        new RegistryService(
            store,
            new RegistrationValidator(reloadWhileResolving),
            metrics,
            access,
            AuditLog.toLogger(Clock.systemUTC()));
    java.util.concurrent.atomic.AtomicReference<Throwable> refused =
        new java.util.concurrent.atomic.AtomicReference<>();

    new io.signalbox.security.Identity(SHOP_CI)
        .attachTo(io.grpc.Context.current())
        .run(
            () ->
                service.register(
                    io.signalbox.testing.TestRegistrations.request("catalog", "catalog-1", 8080),
                    new io.grpc.stub.StreamObserver<>() {
                      @Override
                      public void onNext(io.signalbox.registry.v1.RegisterResponse response) {}

                      @Override
                      public void onError(Throwable error) {
                        refused.set(error);
                      }

                      @Override
                      public void onCompleted() {}
                    }));

    assertThat(io.grpc.Status.fromThrowable(refused.get()).getCode())
        .isEqualTo(io.grpc.Status.Code.PERMISSION_DENIED);
    assertThat(refused.get())
        .hasMessageContaining("identity '" + SHOP_CI + "' may not register service 'catalog'");
    assertThat(store.state().services()).as("nothing stayed registered").isEmpty();
  }

  @Test
  void aRevocationTheStoreCouldNotWriteIsTriedAgainUntilItIs() {
    policy.set(policy(List.of(shopMayRegister("catalog")), List.of()));
    register("catalog", SHOP_CI, prefix("/catalog"));
    java.util.concurrent.atomic.AtomicInteger attempts =
        new java.util.concurrent.atomic.AtomicInteger();
    io.signalbox.store.RegistryAdmin diskFullOnce =
        (io.signalbox.store.RegistryAdmin)
            java.lang.reflect.Proxy.newProxyInstance(
                getClass().getClassLoader(),
                new Class<?>[] {io.signalbox.store.RegistryAdmin.class},
                (proxy, method, arguments) -> {
                  if (method.getName().equals("revoke") && attempts.getAndIncrement() == 0) {
                    throw new io.signalbox.store.StoreUnavailableException("disk full", null);
                  }
                  return method.invoke(store, arguments);
                });
    AccessRevocation revocation =
        new AccessRevocation(
            diskFullOnce,
            AccessControl.enforcing(policy::get),
            AuditLog.toLogger(Clock.systemUTC()),
            metrics,
            retries,
            java.time.Duration.ofMillis(50));

    policy.set(AccessPolicy.DEFAULT);
    assertThat(revocation.revokeRefused("revoked by test")).as("the disk was full").isEmpty();

    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(5))
        .until(() -> store.state().services().isEmpty());
    assertThat(attempts).hasValue(2);
  }
}
