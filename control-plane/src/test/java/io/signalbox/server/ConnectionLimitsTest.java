package io.signalbox.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.signalbox.registry.v1.KeepAliveRequest;
import io.signalbox.registry.v1.KeepAliveResponse;
import io.signalbox.registry.v1.RegistryGrpc;
import io.signalbox.security.TransportSecurity;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** One connection cannot make the control plane hold unbounded streams. */
class ConnectionLimitsTest {

  @Test
  void aConnectionHoldsAtMostMaxCallsPerConnectionStreamsAndFurtherOnesWait() throws Exception {
    try (ControlPlane controlPlane =
        ControlPlane.start(
            ControlPlaneConfig.builder()
                .transport(TransportSecurity.plaintext())
                .grpcAddress("127.0.0.1")
                .grpcPort(0)
                .build())) {
      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", controlPlane.grpcPort())
              .usePlaintext()
              .build();
      int limit = ControlPlane.MAX_CALLS_PER_CONNECTION;
      AtomicInteger answered = new AtomicInteger();
      CountDownLatch firstAnswers = new CountDownLatch(limit);
      List<StreamObserver<KeepAliveRequest>> streams = new ArrayList<>();
      try {
        for (int i = 0; i < limit + 10; i++) {
          StreamObserver<KeepAliveRequest> stream =
              RegistryGrpc.newStub(channel)
                  .keepAlive(
                      new StreamObserver<>() {
                        @Override
                        public void onNext(KeepAliveResponse response) {
                          answered.incrementAndGet();
                          firstAnswers.countDown();
                        }

                        @Override
                        public void onError(Throwable t) {}

                        @Override
                        public void onCompleted() {}
                      });
          stream.onNext(KeepAliveRequest.newBuilder().setLeaseId("unknown-" + i).build());
          streams.add(stream);
        }

        assertThat(firstAnswers.await(10, TimeUnit.SECONDS))
            .as("the first %d streams are answered", limit)
            .isTrue();
        Thread.sleep(500);
        assertThat(answered.get()).as("streams beyond the limit wait").isEqualTo(limit);
      } finally {
        streams.forEach(StreamObserver::onCompleted);
        channel.shutdownNow();
      }
    }
  }
}
