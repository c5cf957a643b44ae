package io.signalbox.server;

import io.signalbox.registry.HostResolver;
import io.signalbox.store.LeasePolicy;
import io.signalbox.translate.GatewayConfig;
import java.time.Duration;
import java.util.Objects;

/**
 * How a control plane runs.
 *
 * @param grpcAddress address the gRPC server (registry API and xDS) binds to
 * @param grpcPort its port; 0 picks a free one
 * @param publishQuietPeriod the pipeline publishes once no change has arrived for this long
 * @param publishMaxDelay ... but never later than this after the first change
 * @param leaseReapInterval how often expired leases are removed
 */
public record ControlPlaneConfig(String grpcAddress, int grpcPort, GatewayConfig gateway, LeasePolicy leasePolicy,
                                 Duration publishQuietPeriod, Duration publishMaxDelay, Duration leaseReapInterval,
                                 HostResolver hostResolver) {

  public ControlPlaneConfig {
    Objects.requireNonNull(grpcAddress);
    Objects.requireNonNull(gateway);
    Objects.requireNonNull(leasePolicy);
    Objects.requireNonNull(publishQuietPeriod);
    Objects.requireNonNull(publishMaxDelay);
    Objects.requireNonNull(leaseReapInterval);
    Objects.requireNonNull(hostResolver);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Defaults suit a production gateway; tests shorten TTLs and pick free ports. */
  public static final class Builder {
    private String grpcAddress = "0.0.0.0";
    private int grpcPort = 18000;
    private GatewayConfig gateway = GatewayConfig.DEFAULT;
    private LeasePolicy leasePolicy = LeasePolicy.DEFAULT;
    private Duration publishQuietPeriod = Duration.ofMillis(1);
    private Duration publishMaxDelay = Duration.ofMillis(100);
    private Duration leaseReapInterval = Duration.ofMillis(200);
    private HostResolver hostResolver = HostResolver.system();

    public Builder grpcAddress(String address) {
      this.grpcAddress = address;
      return this;
    }

    public Builder grpcPort(int port) {
      this.grpcPort = port;
      return this;
    }

    public Builder gateway(GatewayConfig config) {
      this.gateway = config;
      return this;
    }

    public Builder leasePolicy(LeasePolicy policy) {
      this.leasePolicy = policy;
      return this;
    }

    public Builder publishQuietPeriod(Duration quiet) {
      this.publishQuietPeriod = quiet;
      return this;
    }

    public Builder publishMaxDelay(Duration maxDelay) {
      this.publishMaxDelay = maxDelay;
      return this;
    }

    public Builder leaseReapInterval(Duration interval) {
      this.leaseReapInterval = interval;
      return this;
    }

    public Builder hostResolver(HostResolver resolver) {
      this.hostResolver = resolver;
      return this;
    }

    public ControlPlaneConfig build() {
      return new ControlPlaneConfig(grpcAddress, grpcPort, gateway, leasePolicy, publishQuietPeriod,
          publishMaxDelay, leaseReapInterval, hostResolver);
    }
  }
}
