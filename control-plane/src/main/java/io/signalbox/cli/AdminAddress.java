package io.signalbox.cli;

/** {@code host:port}. */
record AdminAddress(String host, int port) {
  @Override
  public String toString() {
    return host + ":" + port;
  }
}
