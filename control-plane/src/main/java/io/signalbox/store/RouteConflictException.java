package io.signalbox.store;

/**
 * A route that would take requests which reach another service's route; the first owner keeps its
 * route.
 */
public final class RouteConflictException extends RuntimeException {
  private final String owner;

  /**
   * @param how how the new route takes the owner's requests ("the same path", "a prefix inside its
   *     prefix", ...)
   */
  public RouteConflictException(
      String host, String match, String owner, String ownersHost, String ownersMatch, String how) {
    super(
        "route host="
            + host
            + " "
            + match
            + " would take requests of service '"
            + owner
            + "' (its route host="
            + ownersHost
            + " "
            + ownersMatch
            + "): "
            + how);
    this.owner = owner;
  }

  public String owner() {
    return owner;
  }
}
