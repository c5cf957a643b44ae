package io.signalbox.cli;

import picocli.CommandLine;

/** The version of the build this runs from, when it is a packaged one. */
final class Version implements CommandLine.IVersionProvider {
  @Override
  public String[] getVersion() {
    String version = SignalboxCtl.class.getPackage().getImplementationVersion();
    return new String[] {"signalboxctl " + (version == null ? "(development build)" : version)};
  }
}
