package io.signalbox.security;

/** What an operator may do through the admin API; each role includes the ones before it. */
public enum AdminRole {
  /** Reads: proxies, snapshots and their diffs, services, routes, history. */
  VIEWER,
  /** Also changes: drain, undrain, evict, pause, resume, release. */
  OPERATOR;

  public boolean includes(AdminRole other) {
    return compareTo(other) >= 0;
  }

  /** As written in the access policy and in messages: {@code viewer}, {@code operator}. */
  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
