package io.signalbox.registry;

/**
 * A registration field that fails validation; {@code field} is its path in the request, e.g.
 * routes[2].path.
 */
public final class InvalidFieldException extends RuntimeException {
  private final String field;

  public InvalidFieldException(String field, String message) {
    super(field + ": " + message);
    this.field = field;
  }

  public String field() {
    return field;
  }
}
