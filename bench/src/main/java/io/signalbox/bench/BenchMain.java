package io.signalbox.bench;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code bench}: Signalbox benchmark harness. Run through {@code bench/run.sh}; see {@code
 * bench/README.md}.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = "Signalbox benchmarks (loopback only; see bench/README.md).",
    subcommands = {
      RegisterToFirst200.class,
      DeltaFanout.class,
      MutualTlsFanout.class,
      PolicyThroughput.class,
      RateLimitServiceBench.class,
      StoreBench.class,
      TranslationCost.class,
      HungClientMemory.class,
      CommandLine.HelpCommand.class
    })
public final class BenchMain implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  public static void main(String[] args) {
    // The JDK HTTP server behind EchoService writes headers and body separately without
    // TCP_NODELAY, so Nagle
    // holds the body until Envoy's delayed ACK (~40 ms) on every proxied response. Must be set
    // before its first use.
    if (System.getProperty("sun.net.httpserver.nodelay") == null) {
      System.setProperty("sun.net.httpserver.nodelay", "true");
    }
    int exit = new CommandLine(new BenchMain()).execute(args);
    System.exit(exit);
  }
}
