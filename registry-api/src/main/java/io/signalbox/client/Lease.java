package io.signalbox.client;

import io.signalbox.registry.v1.RegisterResponse;
import java.time.Duration;

/** A lease granted by the control plane: its id and how long it lives without a keep-alive. */
record Lease(String id, Duration ttl) {

    /** The control plane's documented default, assumed when a response leaves the TTL unset. */
    static final Duration DEFAULT_TTL = Duration.ofSeconds(10);

    static Lease from(RegisterResponse response) {
        Duration ttl = ProtoDurations.fromProto(response.getTtl());
        return new Lease(response.getLeaseId(), ttl.isZero() || ttl.isNegative() ? DEFAULT_TTL : ttl);
    }

    /** Keep-alives go out three times per TTL, so a single lost message never costs the lease. */
    Duration keepAliveInterval() {
        return ttl.dividedBy(3);
    }
}
