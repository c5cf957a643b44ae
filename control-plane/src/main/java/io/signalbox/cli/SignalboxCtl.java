package io.signalbox.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.signalbox.admin.v1.AdminGrpc;
import io.signalbox.admin.v1.PushState;
import io.signalbox.server.SignalboxMain;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * {@code signalboxctl}: the operator's command line for the admin API. Tables for people, {@code -o
 * json} (or {@code yaml}) for scripts.
 *
 * <p>Exit codes: 0 done; 1 the control plane refused or failed the request (NOT_FOUND,
 * INVALID_ARGUMENT, ...); 2 the command line is wrong; 3 the admin API cannot be reached.
 */
@Command(
    name = "signalboxctl",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    versionProvider = Version.class,
    description = "Inspect and operate a Signalbox control plane through its admin API.",
    subcommands = {
      Proxies.class,
      Snapshot.class,
      Services.class,
      Routes.class,
      History.class,
      Diff.class,
      Drain.class,
      Undrain.class,
      Evict.class,
      Release.class,
      Pause.class,
      Resume.class,
      CommandLine.HelpCommand.class
    },
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:done",
      "1:the control plane refused or failed the request",
      "2:wrong command line",
      "3:the admin API is unreachable"
    })
public final class SignalboxCtl implements Callable<Integer> {

  public static final int EXIT_OK = 0;
  public static final int EXIT_SERVER_ERROR = 1;
  public static final int EXIT_USAGE = 2;
  public static final int EXIT_UNREACHABLE = 3;

  static final String DEFAULT_ADMIN = "127.0.0.1:18001";

  static final ObjectMapper JSON = new ObjectMapper();
  private static final ObjectMapper YAML =
      new ObjectMapper(
          new YAMLFactory()
              .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
              .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));
  static final JsonFormat.Printer PROTO_JSON = JsonFormat.printer().includingDefaultValueFields();

  enum Format {
    table,
    json,
    yaml
  }

  @Option(
      names = "--admin",
      paramLabel = "HOST:PORT",
      scope = ScopeType.INHERIT,
      defaultValue = "${env:SIGNALBOX_ADMIN:-" + DEFAULT_ADMIN + "}",
      converter = AdminAddressConverter.class,
      description = "Admin API address (env SIGNALBOX_ADMIN). Default: ${DEFAULT-VALUE}")
  AdminAddress admin;

  @Option(
      names = {"-o", "--output"},
      paramLabel = "FORMAT",
      scope = ScopeType.INHERIT,
      defaultValue = "table",
      description = "Output: ${COMPLETION-CANDIDATES}. Default: ${DEFAULT-VALUE}")
  Format output;

  @Option(
      names = "--timeout",
      paramLabel = "DURATION",
      scope = ScopeType.INHERIT,
      defaultValue = "5s",
      converter = SignalboxMain.DurationConverter.class,
      description = "How long to wait for the control plane. Default: ${DEFAULT-VALUE}")
  Duration timeout;

  @Option(
      names = "--cert",
      paramLabel = "FILE",
      scope = ScopeType.INHERIT,
      defaultValue = "${env:SIGNALBOX_CERT}",
      description =
          "PEM client certificate for a control plane that runs mutual TLS (env SIGNALBOX_CERT); its "
              + "identity needs an admin role in the access policy")
  Path cert;

  @Option(
      names = "--key",
      paramLabel = "FILE",
      scope = ScopeType.INHERIT,
      defaultValue = "${env:SIGNALBOX_KEY}",
      description = "PEM private key of --cert (env SIGNALBOX_KEY)")
  Path key;

  @Option(
      names = "--ca",
      paramLabel = "FILE",
      scope = ScopeType.INHERIT,
      defaultValue = "${env:SIGNALBOX_CA}",
      description =
          "PEM CA bundle the control plane's certificate must chain to (env SIGNALBOX_CA)")
  Path ca;

  @Spec CommandSpec spec;

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The command line with Signalbox's exit codes and error messages; tests capture its output. */
  public static CommandLine commandLine() {
    CommandLine commandLine = new CommandLine(new SignalboxCtl());
    commandLine.setCaseInsensitiveEnumValuesAllowed(true);
    // picocli's own exit code for a wrong command line is 2 (EXIT_USAGE) already.
    commandLine.setExecutionExceptionHandler(SignalboxCtl::handleFailure);
    return commandLine;
  }

  @Override
  public Integer call() {
    spec.commandLine().getErr().println("signalboxctl: a command is required");
    spec.commandLine().usage(spec.commandLine().getErr());
    return EXIT_USAGE;
  }

  private static int handleFailure(
      Exception e, CommandLine commandLine, CommandLine.ParseResult parseResult) {
    PrintWriter err = commandLine.getErr();
    SignalboxCtl root = rootOf(commandLine);
    if (e instanceof StatusRuntimeException failure) {
      Status status = failure.getStatus();
      if (status.getCode() == Status.Code.UNAVAILABLE
          || status.getCode() == Status.Code.DEADLINE_EXCEEDED) {
        // "io exception" says less than the cause it wraps ("Connection refused: ...").
        String detail =
            status.getCause() != null && status.getCause().getMessage() != null
                ? status.getCause().getMessage()
                : status.getDescription();
        err.println(
            "signalboxctl: cannot reach the Signalbox admin API at "
                + root.admin
                + " ("
                + status.getCode()
                + (detail == null ? "" : ": " + detail)
                + "). Is the control plane running, and is --admin (or SIGNALBOX_ADMIN) right?");
        err.flush();
        return EXIT_UNREACHABLE;
      }
      err.println("signalboxctl: " + status.getCode() + ": " + status.getDescription());
      err.flush();
      return EXIT_SERVER_ERROR;
    }
    err.println("signalboxctl: " + e.getMessage());
    err.flush();
    return EXIT_SERVER_ERROR;
  }

  private static SignalboxCtl rootOf(CommandLine commandLine) {
    CommandLine root = commandLine;
    while (root.getParent() != null) {
      root = root.getParent();
    }
    return root.getCommand();
  }

  /** Opens a channel, runs one call with the deadline, and closes the channel. */
  <T> T call(Function<AdminGrpc.AdminBlockingStub, T> request) {
    ManagedChannel channel =
        NettyChannelBuilder.forAddress(admin.host(), admin.port(), credentials()).build();
    try {
      return request.apply(
          AdminGrpc.newBlockingStub(channel)
              .withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS));
    } finally {
      channel.shutdownNow();
    }
  }

  /**
   * Mutual TLS when --cert, --key and --ca are given (or their environment variables), plaintext
   * when none is.
   *
   * @throws CommandLine.ParameterException when only some are given or a file cannot be read
   */
  private ChannelCredentials credentials() {
    if (cert == null && key == null && ca == null) {
      return InsecureChannelCredentials.create();
    }
    if (cert == null || key == null || ca == null) {
      throw new CommandLine.ParameterException(
          spec.commandLine(),
          "mutual TLS needs all three of --cert, --key and --ca (or SIGNALBOX_CERT, SIGNALBOX_KEY, SIGNALBOX_CA)");
    }
    try {
      return TlsChannelCredentials.newBuilder()
          .keyManager(cert.toFile(), key.toFile())
          .trustManager(ca.toFile())
          .build();
    } catch (IOException | RuntimeException e) {
      // The reason and the file names only: never a key's contents.
      throw new CommandLine.ParameterException(
          spec.commandLine(),
          "cannot load the client certificate "
              + cert
              + ", its key "
              + key
              + " or the CA bundle "
              + ca
              + ": "
              + e.getClass().getSimpleName());
    }
  }

  /** Prints a response as JSON or YAML; false when the table format was asked for. */
  boolean printStructured(PrintWriter out, MessageOrBuilder message) {
    if (output == Format.table) {
      return false;
    }
    try {
      printTree(out, JSON.readTree(PROTO_JSON.print(message)));
    } catch (InvalidProtocolBufferException
        | com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("cannot print the response", e);
    }
    return true;
  }

  void printTree(PrintWriter out, JsonNode tree) {
    try {
      if (output == Format.yaml) {
        out.print(YAML.writeValueAsString(tree));
      } else {
        out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(tree));
      }
      out.flush();
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  static void printPushState(PrintWriter out, PushState state, boolean always) {
    if (state.getPaused()) {
      out.println(
          "pushes PAUSED since "
              + Formats.ago(state.getPausedSince())
              + "; Envoys are sent "
              + Formats.orNone(state.getPublishedVersion())
              + (state.getChangesPending()
                  ? "; changes are waiting"
                  : "; nothing has changed since"));
    } else if (always) {
      out.println("pushes running; Envoys are sent " + Formats.orNone(state.getPublishedVersion()));
    }
    out.flush();
  }
}
