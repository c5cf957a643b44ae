package io.signalbox.testing;

import io.signalbox.cli.SignalboxCtl;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;

/**
 * One in-process run of {@code signalboxctl}, as a person would type it, with what it printed and
 * its exit code.
 */
public record SignalboxCtlRun(int exitCode, String out, String err) {

  /** Runs {@code signalboxctl ARGS}. */
  public static SignalboxCtlRun run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine commandLine = SignalboxCtl.commandLine();
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(err, true));
    int exitCode = commandLine.execute(args);
    return new SignalboxCtlRun(exitCode, out.toString(), err.toString());
  }

  /** Runs {@code signalboxctl --admin 127.0.0.1:PORT ARGS}. */
  public static SignalboxCtlRun against(int adminPort, String... args) {
    List<String> all = new ArrayList<>(List.of("--admin", "127.0.0.1:" + adminPort));
    all.addAll(List.of(args));
    return run(all.toArray(String[]::new));
  }
}
