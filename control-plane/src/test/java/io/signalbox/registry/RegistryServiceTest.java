package io.signalbox.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.protobuf.util.Durations;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.signalbox.model.Instance;
import io.signalbox.model.RegistryState;
import io.signalbox.registry.v1.DeregisterRequest;
import io.signalbox.registry.v1.KeepAliveRequest;
import io.signalbox.registry.v1.KeepAliveResponse;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.RegisterResponse;
import io.signalbox.registry.v1.RegistryGrpc;
import io.signalbox.registry.v1.Route;
import io.signalbox.store.InMemoryRegistryStore;
import io.signalbox.store.LeasePolicy;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The Registry gRPC API over an in-process channel: statuses and descriptions a client can act on.
 */
class RegistryServiceTest {

  private final AtomicLong nanos = new AtomicLong(0);
  private final InMemoryRegistryStore store =
      new InMemoryRegistryStore(LeasePolicy.DEFAULT, nanos::get);
  private Server server;
  private ManagedChannel channel;
  private RegistryGrpc.RegistryBlockingStub registry;
  private RegistryGrpc.RegistryStub asyncRegistry;

  @BeforeEach
  void startServer() throws IOException {
    String name = InProcessServerBuilder.generateName();
    RegistrationValidator validator =
        new RegistrationValidator(
            host -> host.equals("nowhere.invalid") ? Optional.empty() : Optional.of("10.0.0.1"));
    server =
        InProcessServerBuilder.forName(name)
            .directExecutor()
            .addService(new RegistryService(store, validator))
            .build()
            .start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    registry = RegistryGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS);
    asyncRegistry = RegistryGrpc.newStub(channel);
  }

  @AfterEach
  void stopServer() throws InterruptedException {
    channel.shutdownNow().awaitTermination(1, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(1, TimeUnit.SECONDS);
  }

  private static RegisterRequest.Builder request(
      String service, String instanceId, String... prefixes) {
    RegisterRequest.Builder request =
        RegisterRequest.newBuilder()
            .setService(service)
            .setInstance(
                io.signalbox.registry.v1.Instance.newBuilder()
                    .setId(instanceId)
                    .setHost("10.0.0.1")
                    .setPort(8080));
    for (String prefix : prefixes) {
      request.addRoutes(Route.newBuilder().setPath(PathMatch.newBuilder().setPrefix(prefix)));
    }
    return request;
  }

  private static Status statusOf(Throwable error) {
    return ((StatusRuntimeException) error).getStatus();
  }

  /** Sends lease ids over one KeepAlive stream and collects the answers. */
  private List<KeepAliveResponse> keepAlive(String... leaseIds) throws Exception {
    List<KeepAliveResponse> answers = Collections.synchronizedList(new ArrayList<>());
    CompletableFuture<Void> done = new CompletableFuture<>();
    StreamObserver<KeepAliveRequest> requests =
        asyncRegistry.keepAlive(
            new StreamObserver<>() {
              @Override
              public void onNext(KeepAliveResponse response) {
                answers.add(response);
              }

              @Override
              public void onError(Throwable error) {
                done.completeExceptionally(error);
              }

              @Override
              public void onCompleted() {
                done.complete(null);
              }
            });
    for (String leaseId : leaseIds) {
      requests.onNext(KeepAliveRequest.newBuilder().setLeaseId(leaseId).build());
    }
    requests.onCompleted();
    done.get(5, TimeUnit.SECONDS);
    return answers;
  }

  @Nested
  class Register {

    @Test
    void returnsALeaseAndTheGrantedTtl() {
      RegisterResponse response = registry.register(request("orders", "o1", "/orders").build());

      assertThat(response.getLeaseId()).isNotEmpty();
      assertThat(response.getTtl()).isEqualTo(Durations.fromSeconds(10));
      assertThat(store.state().services()).containsOnlyKeys("orders");
      assertThat(store.state().services().get("orders").instances())
          .extracting(Instance::id)
          .containsExactly("o1");
    }

    @Test
    void grantsARequestedTtlWithinBounds() {
      RegisterResponse response =
          registry.register(request("orders", "o1").setLeaseTtl(Durations.fromSeconds(30)).build());

      assertThat(response.getTtl()).isEqualTo(Durations.fromSeconds(30));
    }

    @Test
    void clampsARequestedTtlToTheBounds() {
      assertThat(
              registry
                  .register(request("orders", "o1").setLeaseTtl(Durations.fromHours(1)).build())
                  .getTtl())
          .isEqualTo(Durations.fromMinutes(5));
      assertThat(
              registry
                  .register(request("orders", "o2").setLeaseTtl(Durations.fromMillis(10)).build())
                  .getTtl())
          .isEqualTo(Durations.fromSeconds(1));
    }

    @Test
    void clampsAnEnormousRequestedTtlInsteadOfFailing() {
      RegisterResponse response =
          registry.register(
              request("orders", "o1").setLeaseTtl(Durations.fromSeconds(10_000_000_000L)).build());

      assertThat(response.getTtl()).isEqualTo(Durations.fromMinutes(5));
    }

    @Test
    void isIdempotentForTheSameInstance() {
      RegisterResponse first = registry.register(request("orders", "o1", "/orders").build());
      RegistryState state = store.state();

      RegisterResponse again = registry.register(request("orders", "o1", "/orders").build());

      assertThat(again.getLeaseId()).isEqualTo(first.getLeaseId());
      assertThat(store.state()).isSameAs(state);
    }

    @Test
    void refusesAnInvalidFieldWithInvalidArgumentNamingTheField() {
      registry.register(request("orders", "o1", "/orders").build());
      RegistryState before = store.state();

      StatusRuntimeException error =
          catchThrowableOfType(
              StatusRuntimeException.class,
              () ->
                  registry.register(
                      request("billing", "b1", "/billing")
                          .setInstance(
                              io.signalbox.registry.v1.Instance.newBuilder()
                                  .setId("b1")
                                  .setHost("10.0.0.2")
                                  .setPort(0))
                          .build()));

      assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(error.getStatus().getDescription())
          .startsWith("instance.port: ")
          .contains("0 is out of range");
      assertThat(store.state()).isSameAs(before);
    }

    @Test
    void namesARouteFieldByItsIndex() {
      StatusRuntimeException error =
          catchThrowableOfType(
              StatusRuntimeException.class,
              () -> registry.register(request("orders", "o1", "/orders", "orders").build()));

      assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(error.getStatus().getDescription()).startsWith("routes[1].path.prefix: ");
      assertThat(store.state().services()).isEmpty();
    }

    @Test
    void refusesAHostThatDoesNotResolve() {
      StatusRuntimeException error =
          catchThrowableOfType(
              StatusRuntimeException.class,
              () ->
                  registry.register(
                      request("orders", "o1")
                          .setInstance(
                              io.signalbox.registry.v1.Instance.newBuilder()
                                  .setId("o1")
                                  .setHost("nowhere.invalid")
                                  .setPort(8080))
                          .build()));

      assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(error.getStatus().getDescription()).startsWith("instance.host: ");
    }

    @Test
    void refusesARouteOwnedByAnotherServiceWithAlreadyExistsNamingTheOwner() {
      registry.register(request("orders", "o1", "/orders").build());
      RegistryState before = store.state();

      StatusRuntimeException error =
          catchThrowableOfType(
              StatusRuntimeException.class,
              () -> registry.register(request("billing", "b1", "/billing", "/orders").build()));

      assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.ALREADY_EXISTS);
      assertThat(error.getStatus().getDescription()).contains("'orders'").contains("/orders");
      assertThat(store.state()).isSameAs(before);
    }

    @Test
    void aBadRegistrationAmongGoodOnesLeavesTheGoodOnesRegistered() {
      for (int i = 0; i < 20; i++) {
        registry.register(request("svc" + i, "i1", "/svc" + i).build());
      }
      RegistryState before = store.state();

      assertThatThrownBy(() -> registry.register(request("Bad-Service", "i1", "/bad").build()))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getDescription()).startsWith("service: "));

      assertThat(store.state()).isSameAs(before);
      assertThat(store.state().services()).hasSize(20);
      assertThat(store.state().services().values())
          .allSatisfy(
              service -> {
                assertThat(service.instances()).hasSize(1);
                assertThat(service.routes()).hasSize(1);
              });
    }

    @Test
    void refusesAnOversizedRequestAsAWhole() {
      RegisterRequest.Builder request = request("orders", "o1");
      request.getInstanceBuilder().setId("x".repeat(RegistrationValidator.MAX_MESSAGE_BYTES));

      StatusRuntimeException error =
          catchThrowableOfType(
              StatusRuntimeException.class, () -> registry.register(request.build()));

      assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(error.getStatus().getDescription()).startsWith("request: ");
    }
  }

  @Nested
  class KeepAlive {

    @Test
    void renewsALiveLease() throws Exception {
      String lease = registry.register(request("orders", "o1").build()).getLeaseId();

      assertThat(keepAlive(lease))
          .singleElement()
          .satisfies(
              answer -> {
                assertThat(answer.getLeaseId()).isEqualTo(lease);
                assertThat(answer.getStatus()).isEqualTo(KeepAliveResponse.Status.RENEWED);
                assertThat(answer.getTtl()).isEqualTo(Durations.fromSeconds(10));
              });
    }

    @Test
    void answersLeaseUnknownForALeaseItDoesNotKnow() throws Exception {
      assertThat(keepAlive("lease-never-granted"))
          .singleElement()
          .satisfies(
              answer -> {
                assertThat(answer.getLeaseId()).isEqualTo("lease-never-granted");
                assertThat(answer.getStatus()).isEqualTo(KeepAliveResponse.Status.LEASE_UNKNOWN);
                assertThat(answer.hasTtl()).isFalse();
              });
    }

    @Test
    void answersEveryMessageInOrderOnOneStream() throws Exception {
      String orders = registry.register(request("orders", "o1").build()).getLeaseId();
      String billing = registry.register(request("billing", "b1").build()).getLeaseId();

      assertThat(keepAlive(orders, "lease-gone", billing))
          .extracting(KeepAliveResponse::getStatus)
          .containsExactly(
              KeepAliveResponse.Status.RENEWED,
              KeepAliveResponse.Status.LEASE_UNKNOWN,
              KeepAliveResponse.Status.RENEWED);
    }

    @Test
    void keepsAnInstanceRegisteredPastItsTtl() throws Exception {
      String lease = registry.register(request("orders", "o1").build()).getLeaseId();
      nanos.addAndGet(Duration.ofSeconds(9).toNanos());

      keepAlive(lease);
      nanos.addAndGet(Duration.ofSeconds(9).toNanos());

      assertThat(store.expireLeases()).isZero();
      assertThat(store.state().services()).containsOnlyKeys("orders");
    }

    @Test
    void answersLeaseUnknownOnceTheLeaseExpired() throws Exception {
      String lease = registry.register(request("orders", "o1").build()).getLeaseId();
      nanos.addAndGet(Duration.ofSeconds(10).toNanos());
      store.expireLeases();

      assertThat(keepAlive(lease))
          .extracting(KeepAliveResponse::getStatus)
          .containsExactly(KeepAliveResponse.Status.LEASE_UNKNOWN);
    }
  }

  @Nested
  class Deregister {

    @Test
    void removesTheInstanceAtOnce() {
      String lease = registry.register(request("orders", "o1", "/orders").build()).getLeaseId();

      registry.deregister(DeregisterRequest.newBuilder().setLeaseId(lease).build());

      assertThat(store.state().services()).isEmpty();
    }

    @Test
    void answersNotFoundForAnUnknownLease() {
      StatusRuntimeException error =
          catchThrowableOfType(
              StatusRuntimeException.class,
              () ->
                  registry.deregister(
                      DeregisterRequest.newBuilder().setLeaseId("lease-never-granted").build()));

      assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
      assertThat(error.getStatus().getDescription())
          .startsWith("lease_id: ")
          .contains("lease-never-granted");
    }

    @Test
    void answersNotFoundTheSecondTime() {
      String lease = registry.register(request("orders", "o1").build()).getLeaseId();
      registry.deregister(DeregisterRequest.newBuilder().setLeaseId(lease).build());

      assertThatThrownBy(
              () -> registry.deregister(DeregisterRequest.newBuilder().setLeaseId(lease).build()))
          .satisfies(e -> assertThat(statusOf(e).getCode()).isEqualTo(Status.Code.NOT_FOUND));
    }

    @Test
    void freesTheRoutesForAnotherService() {
      String lease = registry.register(request("orders", "o1", "/orders").build()).getLeaseId();
      registry.deregister(DeregisterRequest.newBuilder().setLeaseId(lease).build());

      registry.register(request("billing", "b1", "/orders").build());

      assertThat(store.state().services()).containsOnlyKeys("billing");
    }
  }
}
