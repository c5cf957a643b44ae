package io.signalbox.store;

/** A registration that would take more of the registry than a quota allows; nothing changed. */
public final class QuotaExceededException extends RuntimeException {

  /**
   * @param limit the settings field that sets the quota, e.g. {@code limits.maxServices}
   */
  public QuotaExceededException(String limit, String message) {
    super(limit + ": " + message);
  }
}
