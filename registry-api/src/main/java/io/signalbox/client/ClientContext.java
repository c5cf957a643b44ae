package io.signalbox.client;

import io.grpc.ManagedChannel;
import io.signalbox.registry.v1.RegistryGrpc;

/** What every registration of one client shares. */
record ClientContext(
    ManagedChannel channel, ClientScheduler scheduler, BackoffPolicy backoffPolicy) {

  RegistryGrpc.RegistryStub async() {
    return RegistryGrpc.newStub(channel);
  }

  RegistryGrpc.RegistryBlockingStub blocking() {
    return RegistryGrpc.newBlockingStub(channel);
  }
}
