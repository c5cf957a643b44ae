package io.signalbox.store;

/** A route (host + match) that another service already owns. */
public final class RouteConflictException extends RuntimeException {
  private final String owner;

  public RouteConflictException(String host, String match, String owner) {
    super("route host=" + host + " " + match + " is owned by service '" + owner + "'");
    this.owner = owner;
  }

  public String owner() {
    return owner;
  }
}
