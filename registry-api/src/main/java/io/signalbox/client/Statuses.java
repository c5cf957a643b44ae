package io.signalbox.client;

import io.grpc.Status;

final class Statuses {

  private Statuses() {}

  /** "CODE: description", or just the code: for log lines and exception messages. */
  static String describe(Status status) {
    return status.getDescription() == null
        ? status.getCode().toString()
        : status.getCode() + ": " + status.getDescription();
  }
}
