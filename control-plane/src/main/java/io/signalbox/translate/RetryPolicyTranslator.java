package io.signalbox.translate;

import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.type.v3.Percent;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Retries: a route's {@link io.signalbox.model.RetryPolicy} as Envoy's, and the retry budget every
 * service cluster carries so that retries cannot bury a failing service.
 */
final class RetryPolicyTranslator {

  /**
   * Retried when the registration names no condition: the request never reached an instance, or the
   * instance refused it as unavailable (503, or gRPC UNAVAILABLE).
   */
  static final List<String> DEFAULT_RETRY_ON =
      List.of(
          "connect-failure", "refused-stream", "reset", "retriable-status-codes", "unavailable");

  private static final int DEFAULT_RETRIABLE_STATUS = 503;

  /** Retries in flight, as a share of the requests in flight to a cluster. */
  static final double RETRY_BUDGET_PERCENT = 20.0;

  /** Retries in flight allowed whatever the budget says, so that a quiet service can retry. */
  static final int MIN_RETRY_CONCURRENCY = 3;

  private RetryPolicyTranslator() {}

  static RetryPolicy retryPolicy(io.signalbox.model.RetryPolicy retry) {
    Set<String> retryOn = new LinkedHashSet<>(retry.retryOn());
    List<Integer> codes = new ArrayList<>(retry.retriableStatusCodes());
    if (retryOn.isEmpty()) {
      retryOn.addAll(DEFAULT_RETRY_ON);
      if (!codes.contains(DEFAULT_RETRIABLE_STATUS)) {
        codes.add(0, DEFAULT_RETRIABLE_STATUS);
      }
    } else if (!codes.isEmpty()) {
      // Status codes are retried only with this condition; naming codes means wanting them retried.
      retryOn.add("retriable-status-codes");
    }
    RetryPolicy.Builder policy =
        RetryPolicy.newBuilder()
            .setRetryOn(String.join(",", retryOn))
            .setNumRetries(UInt32Value.of(retry.attempts()));
    codes.forEach(policy::addRetriableStatusCodes);
    retry
        .perTryTimeout()
        .ifPresent(timeout -> policy.setPerTryTimeout(EnvoyProtos.duration(timeout)));
    retry
        .backoff()
        .ifPresent(
            backoff ->
                policy.setRetryBackOff(
                    RetryPolicy.RetryBackOff.newBuilder()
                        .setBaseInterval(EnvoyProtos.duration(backoff.base()))
                        .setMaxInterval(EnvoyProtos.duration(backoff.max()))));
    return policy.build();
  }

  /**
   * The thresholds of a service cluster: Envoy's defaults, with a retry budget (unless the service
   * limits its retries itself: the budget would override the limit).
   */
  static CircuitBreakers.Thresholds.Builder retryBudgetThresholds() {
    return CircuitBreakers.Thresholds.newBuilder()
        .setRetryBudget(
            CircuitBreakers.Thresholds.RetryBudget.newBuilder()
                .setBudgetPercent(Percent.newBuilder().setValue(RETRY_BUDGET_PERCENT))
                .setMinRetryConcurrency(UInt32Value.of(MIN_RETRY_CONCURRENCY)));
  }
}
