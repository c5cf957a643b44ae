package io.signalbox.translate;

import io.envoyproxy.envoy.config.route.v3.RateLimit.Action;
import io.signalbox.model.RateLimit;
import java.util.Optional;

/**
 * How a limit splits its budget: per client IP or per value of a header, as the route rate-limit
 * action that produces the descriptor entry and the entry's key. Local and global limits partition
 * the same way.
 *
 * @param action the route's rate-limit action producing the entry
 * @param descriptorKey the key of the entry it produces
 */
record RateLimitPartition(Action action, String descriptorKey) {

  /**
   * The partition of {@code limit}, if it has one.
   *
   * @param withoutHeaderToo whether a request lacking the header still yields the descriptor,
   *     without this entry (Envoy's {@code skip_if_absent}): by default it yields none, and would
   *     skip the limit altogether. A global limit wants it; a local one counts such requests in the
   *     route's own bucket instead.
   */
  static Optional<RateLimitPartition> of(RateLimit limit, boolean withoutHeaderToo) {
    if (limit.perClientIp()) {
      return Optional.of(
          new RateLimitPartition(
              Action.newBuilder()
                  .setRemoteAddress(Action.RemoteAddress.getDefaultInstance())
                  .build(),
              XdsNames.RATE_LIMIT_CLIENT_IP_KEY));
    }
    return limit
        .perHeader()
        .map(
            header -> {
              String key = XdsNames.rateLimitHeaderKey(header);
              Action.RequestHeaders.Builder headers =
                  Action.RequestHeaders.newBuilder().setHeaderName(header).setDescriptorKey(key);
              if (withoutHeaderToo) {
                headers.setSkipIfAbsent(true);
              }
              return new RateLimitPartition(
                  Action.newBuilder().setRequestHeaders(headers).build(), key);
            });
  }
}
