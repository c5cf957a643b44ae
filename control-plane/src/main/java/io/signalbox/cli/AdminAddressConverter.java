package io.signalbox.cli;

import picocli.CommandLine;

final class AdminAddressConverter implements CommandLine.ITypeConverter<AdminAddress> {
  @Override
  public AdminAddress convert(String value) {
    int colon = value.lastIndexOf(':');
    if (colon <= 0 || colon == value.length() - 1) {
      throw new CommandLine.TypeConversionException("'" + value + "' is not HOST:PORT");
    }
    String host = value.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(value.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new CommandLine.TypeConversionException(
          "'" + value + "' is not HOST:PORT (port is not a number)");
    }
    if (port < 1 || port > 65535) {
      throw new CommandLine.TypeConversionException("'" + value + "': port must be 1-65535");
    }
    return new AdminAddress(host, port);
  }
}
