package io.signalbox.store;

import java.time.Duration;

/** A granted lease: the instance stays registered while it is renewed within {@code ttl}. */
public record Lease(String id, Duration ttl) {
}
