package io.signalbox.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** Base of every command: the root's options, and the output stream. */
abstract class AdminCommand implements Callable<Integer> {
  @ParentCommand SignalboxCtl root;

  @Spec CommandSpec spec;

  PrintWriter out() {
    return spec.commandLine().getOut();
  }
}
