package io.signalbox.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
import io.signalbox.admin.v1.CutOffStream;
import io.signalbox.admin.v1.DiffSnapshotsRequest;
import io.signalbox.admin.v1.DiffSnapshotsResponse;
import io.signalbox.admin.v1.DrainInstanceRequest;
import io.signalbox.admin.v1.EvictRequest;
import io.signalbox.admin.v1.EvictResponse;
import io.signalbox.admin.v1.GetSnapshotRequest;
import io.signalbox.admin.v1.GetSnapshotResponse;
import io.signalbox.admin.v1.HistoryEntry;
import io.signalbox.admin.v1.HistoryRequest;
import io.signalbox.admin.v1.HistoryResponse;
import io.signalbox.admin.v1.Instance;
import io.signalbox.admin.v1.ListProxiesRequest;
import io.signalbox.admin.v1.ListProxiesResponse;
import io.signalbox.admin.v1.ListServicesRequest;
import io.signalbox.admin.v1.ListServicesResponse;
import io.signalbox.admin.v1.PausePushesRequest;
import io.signalbox.admin.v1.PolicySource;
import io.signalbox.admin.v1.Proxy;
import io.signalbox.admin.v1.PushState;
import io.signalbox.admin.v1.RegistrationStatus;
import io.signalbox.admin.v1.ReleaseQuarantineRequest;
import io.signalbox.admin.v1.ResourceChanges;
import io.signalbox.admin.v1.ResourceTypeStatus;
import io.signalbox.admin.v1.ResumePushesRequest;
import io.signalbox.admin.v1.Route;
import io.signalbox.admin.v1.Service;
import io.signalbox.admin.v1.SyncStatus;
import io.signalbox.admin.v1.UndrainInstanceRequest;
import io.signalbox.registry.v1.RateLimitPolicy;
import io.signalbox.server.SignalboxMain;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
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
    versionProvider = SignalboxCtl.Version.class,
    description = "Inspect and operate a Signalbox control plane through its admin API.",
    subcommands = {
      SignalboxCtl.Proxies.class,
      SignalboxCtl.Snapshot.class,
      SignalboxCtl.Services.class,
      SignalboxCtl.Routes.class,
      SignalboxCtl.History.class,
      SignalboxCtl.Diff.class,
      SignalboxCtl.Drain.class,
      SignalboxCtl.Undrain.class,
      SignalboxCtl.Evict.class,
      SignalboxCtl.Release.class,
      SignalboxCtl.Pause.class,
      SignalboxCtl.Resume.class,
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

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ObjectMapper YAML =
      new ObjectMapper(
          new YAMLFactory()
              .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
              .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));
  private static final JsonFormat.Printer PROTO_JSON =
      JsonFormat.printer().includingDefaultValueFields();

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

  // ---- commands ----

  /** Base of every command: the root's options, and the output stream. */
  abstract static class AdminCommand implements Callable<Integer> {
    @ParentCommand SignalboxCtl root;

    @Spec CommandSpec spec;

    PrintWriter out() {
      return spec.commandLine().getOut();
    }
  }

  @Command(
      name = "proxies",
      mixinStandardHelpOptions = true,
      description =
          "Connected Envoys: version per resource type sent and acknowledged, NACKs, sync status.")
  static final class Proxies extends AdminCommand {
    @Option(names = "--group", description = "Only Envoys of this node group.")
    String group = "";

    @Override
    public Integer call() {
      ListProxiesResponse response =
          root.call(
              admin -> admin.listProxies(ListProxiesRequest.newBuilder().setGroup(group).build()));
      if (root.printStructured(out(), response)) {
        return EXIT_OK;
      }
      PrintWriter out = out();
      printPushState(out, response.getPushes(), false);
      Table table =
          new Table(
              "NODE",
              "GROUP",
              "ROLE",
              "ENVOY",
              "XDS",
              "STATUS",
              "CONNECTED",
              "LISTENERS",
              "ROUTES",
              "CLUSTERS",
              "ENDPOINTS",
              "SECRETS",
              "CERT EXPIRES");
      List<String> nacks = new ArrayList<>();
      for (Proxy proxy : response.getProxiesList()) {
        Map<String, ResourceTypeStatus> types = new java.util.HashMap<>();
        proxy.getTypesList().forEach(type -> types.put(type.getType(), type));
        table.row(
            proxy.getNodeId(),
            proxy.getGroup(),
            proxy.getRole(),
            proxy.getEnvoyVersion(),
            proxy.getXdsMode().name().toLowerCase(Locale.ROOT),
            proxy.hasLaggingFor()
                ? "LAGGING " + Formats.duration(proxy.getLaggingFor())
                : proxy.getStatus().name(),
            Formats.ago(proxy.getConnectedSince()),
            typeCell(types.get("listeners")),
            typeCell(types.get("routes")),
            typeCell(types.get("clusters")),
            typeCell(types.get("endpoints")),
            typeCell(types.get("secrets")),
            proxy.hasCertificateExpires() ? Formats.in(proxy.getCertificateExpires()) : "-");
        for (ResourceTypeStatus type : proxy.getTypesList()) {
          // A rejection stays listed after Envoy accepted a later version (e.g. once the
          // registration that caused
          // it was quarantined), so that a short-lived one is not missed.
          if (type.hasLastNack()) {
            nacks.add(
                proxy.getNodeId()
                    + " rejected "
                    + type.getType()
                    + " "
                    + Formats.version(type.getLastNack().getVersion())
                    + " "
                    + Formats.ago(type.getLastNack().getAt())
                    + (type.getStatus() == SyncStatus.NACKED
                        ? ""
                        : ", runs " + Formats.version(type.getVersionAcked()) + " now")
                    + ": "
                    + type.getLastNack().getErrorDetail());
          }
        }
      }
      if (table.isEmpty()) {
        out.println(
            "No Envoy is connected" + (group.isEmpty() ? "." : " in group '" + group + "'."));
      } else {
        table.print(out);
      }
      if (!nacks.isEmpty()) {
        out.println();
        nacks.forEach(out::println);
      }
      if (response.getCutOffCount() > 0) {
        out.println();
        for (CutOffStream cutOff : response.getCutOffList()) {
          out.println(
              cutOff.getNodeId()
                  + " (group "
                  + cutOff.getGroup()
                  + ", stream "
                  + cutOff.getStreamId()
                  + ") cut off "
                  + Formats.ago(cutOff.getAt())
                  + " after lagging "
                  + Formats.duration(cutOff.getLaggedFor()));
        }
      }
      out.flush();
      return EXIT_OK;
    }

    /** The acknowledged version; what is pending or rejected, if anything. */
    private static String typeCell(ResourceTypeStatus type) {
      if (type == null) {
        return "-";
      }
      String acked =
          type.getVersionAcked().isEmpty() ? "none" : Formats.version(type.getVersionAcked());
      return switch (type.getStatus()) {
        case SYNCED -> acked;
        case STALE -> acked + " (sent " + Formats.version(type.getVersionSent()) + ")";
        case NACKED -> acked + " (NACK " + Formats.version(type.getLastNack().getVersion()) + ")";
        default -> "-";
      };
    }
  }

  @Command(
      name = "snapshot",
      mixinStandardHelpOptions = true,
      description =
          "The resources a node or node group is sent (private keys redacted). As a table: type, name "
              + "and version of each; -o json or -o yaml for the resources themselves.")
  static final class Snapshot extends AdminCommand {
    @Parameters(
        paramLabel = "NODE|GROUP",
        description = "A connected node id, or else a node group.")
    String target;

    @Option(
        names = "--type",
        description = "Only this type: listeners, routes, clusters, endpoints, secrets.")
    String type = "";

    @Option(names = "--name", description = "Only the resource of this name.")
    String name = "";

    @Override
    public Integer call() {
      GetSnapshotResponse response = fetch();
      PrintWriter out = out();
      if (root.output != Format.table) {
        ObjectNode tree =
            JSON.createObjectNode()
                .put("group", response.getGroup())
                .put("version", response.getVersion());
        ObjectNode typeVersions = tree.putObject("typeVersions");
        new java.util.TreeMap<>(response.getTypeVersionsMap()).forEach(typeVersions::put);
        ArrayNode resources = tree.putArray("resources");
        response
            .getResourcesList()
            .forEach(
                resource -> {
                  ObjectNode entry =
                      resources
                          .addObject()
                          .put("type", resource.getType())
                          .put("name", resource.getName())
                          .put("version", resource.getVersion());
                  try {
                    entry.set("resource", JSON.readTree(resource.getJson()));
                  } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                    throw new UncheckedIOException(e);
                  }
                });
        root.printTree(out, tree);
        return EXIT_OK;
      }
      out.println(
          "group "
              + response.getGroup()
              + ", snapshot "
              + response.getVersion()
              + "; type versions: "
              + response.getTypeVersionsMap().entrySet().stream()
                  .sorted(Map.Entry.comparingByKey())
                  .map(e -> e.getKey() + " " + Formats.version(e.getValue()))
                  .collect(java.util.stream.Collectors.joining(", ")));
      Table table = new Table("TYPE", "NAME", "VERSION");
      response.getResourcesList().forEach(r -> table.row(r.getType(), r.getName(), r.getVersion()));
      table.print(out);
      return EXIT_OK;
    }

    /** As a node first; a name that is no connected node is tried as a group. */
    private GetSnapshotResponse fetch() {
      GetSnapshotRequest.Builder request =
          GetSnapshotRequest.newBuilder().setType(type).setName(name);
      try {
        return root.call(admin -> admin.getSnapshot(request.clone().setNodeId(target).build()));
      } catch (StatusRuntimeException e) {
        if (e.getStatus().getCode() != Status.Code.NOT_FOUND
            || !String.valueOf(e.getStatus().getDescription()).startsWith("node ")) {
          throw e;
        }
      }
      try {
        return root.call(admin -> admin.getSnapshot(request.clone().setGroup(target).build()));
      } catch (StatusRuntimeException e) {
        if (e.getStatus().getCode() == Status.Code.NOT_FOUND
            && String.valueOf(e.getStatus().getDescription()).startsWith("group ")) {
          throw Status.NOT_FOUND
              .withDescription(
                  "'"
                      + target
                      + "' is neither a connected node nor a known group ("
                      + e.getStatus().getDescription()
                      + ")")
              .asRuntimeException();
        }
        throw e;
      }
    }
  }

  @Command(
      name = "services",
      mixinStandardHelpOptions = true,
      description = "Registered services and their instances: state, address, lease time left.")
  static final class Services extends AdminCommand {
    @Override
    public Integer call() {
      ListServicesResponse response =
          root.call(admin -> admin.listServices(ListServicesRequest.getDefaultInstance()));
      if (root.printStructured(out(), response)) {
        return EXIT_OK;
      }
      Table table =
          new Table(
              "SERVICE",
              "STATUS",
              "INSTANCE",
              "ADDRESS",
              "ZONE",
              "WEIGHT",
              "STATE",
              "LEASE LEFT",
              "ROUTES");
      List<String> reasons = new ArrayList<>();
      for (Service service : response.getServicesList()) {
        String status = service.getStatus().name();
        if (!service.getStatusReason().isEmpty()) {
          // Envoy's errors are long: below the table, not in it.
          reasons.add(
              service.getName()
                  + " "
                  + status
                  + (service.hasStatusSince()
                      ? " since " + Formats.ago(service.getStatusSince())
                      : "")
                  + ": "
                  + service.getStatusReason());
        }
        for (Instance instance : service.getInstancesList()) {
          String state =
              instance.getState().name()
                  + (instance.hasEvictAt()
                      ? " (evict " + Formats.in(instance.getEvictAt()) + ")"
                      : "");
          table.row(
              service.getName(),
              status,
              instance.getId(),
              instance.getHost().equals(instance.getAddress())
                  ? instance.getAddress() + ":" + instance.getPort()
                  : instance.getHost() + " (" + instance.getAddress() + "):" + instance.getPort(),
              instance.getZone(),
              instance.getWeight(),
              state,
              Formats.duration(instance.getLeaseRemaining()),
              service.getRoutesCount());
        }
      }
      if (table.isEmpty()) {
        out().println("No service is registered.");
      } else {
        table.print(out());
      }
      if (!reasons.isEmpty()) {
        out().println();
        reasons.forEach(out()::println);
      }
      out().flush();
      return EXIT_OK;
    }
  }

  @Command(
      name = "routes",
      mixinStandardHelpOptions = true,
      description =
          "Every route with its owner and the policies in force (registration's own, else the "
              + "operator's default).")
  static final class Routes extends AdminCommand {
    @Option(names = "--service", description = "Only routes of this service.")
    String service = "";

    @Override
    public Integer call() {
      ListServicesResponse response =
          root.call(admin -> admin.listServices(ListServicesRequest.getDefaultInstance()));
      List<Route> routes =
          response.getServicesList().stream()
              .filter(s -> service.isEmpty() || s.getName().equals(service))
              .flatMap(s -> s.getRoutesList().stream())
              .toList();
      if (root.output != Format.table) {
        ObjectNode tree = JSON.createObjectNode();
        ArrayNode list = tree.putArray("routes");
        for (Route route : routes) {
          try {
            list.add(JSON.readTree(PROTO_JSON.print(route)));
          } catch (InvalidProtocolBufferException
              | com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot print the response", e);
          }
        }
        root.printTree(out(), tree);
        return EXIT_OK;
      }
      Table table =
          new Table("OWNER", "MATCH", "HOSTS", "ACTION", "AUTH", "RATE LIMIT", "ENFORCED BY");
      routes.forEach(
          route ->
              table.row(
                  route.getOwner(),
                  route.getMatch()
                      + (route.getPrefixRewrite().isEmpty()
                          ? ""
                          : " rewrite " + route.getPrefixRewrite()),
                  route.getHostsCount() == 0 ? "*" : String.join(",", route.getHostsList()),
                  route.getAction(),
                  auth(route),
                  rateLimit(route),
                  route.getPoliciesEnforcedAt()
                          == io.signalbox.admin.v1.PolicyEnforcement.AT_SIDECARS
                      ? "sidecars"
                      : "edge"));
      if (table.isEmpty()) {
        out()
            .println(
                service.isEmpty()
                    ? "No route is registered."
                    : "Service '" + service + "' has no routes.");
      } else {
        table.print(out());
      }
      out().flush();
      return EXIT_OK;
    }

    private static String auth(Route route) {
      if (route.getPublic()) {
        return "public";
      }
      if (!route.hasAuth()) {
        return "none";
      }
      StringBuilder text = new StringBuilder("jwt ").append(route.getAuth().getProvider());
      if (route.getAuth().getRequiredScopesCount() > 0) {
        text.append(" scopes=").append(String.join(",", route.getAuth().getRequiredScopesList()));
      }
      route
          .getAuth()
          .getRequiredClaimsList()
          .forEach(
              claim ->
                  text.append(" ")
                      .append(claim.getName())
                      .append("=")
                      .append(String.join("|", claim.getValuesList())));
      return text + source(route.getAuthSource());
    }

    private static String rateLimit(Route route) {
      if (!route.hasRateLimit()) {
        return "none";
      }
      RateLimitPolicy limit = route.getRateLimit();
      StringBuilder text =
          new StringBuilder()
              .append(limit.getRequests())
              .append('/')
              .append(limit.getUnit().name().toLowerCase(Locale.ROOT))
              .append(' ')
              .append(limit.getScope().name().toLowerCase(Locale.ROOT));
      if (limit.getPerClientIp()) {
        text.append(" per client IP");
      }
      if (!limit.getPerHeader().isEmpty()) {
        text.append(" per ").append(limit.getPerHeader());
      }
      return text + source(route.getRateLimitSource());
    }

    private static String source(PolicySource source) {
      return source == PolicySource.OPERATOR_DEFAULT ? " (default)" : "";
    }
  }

  @Command(
      name = "history",
      mixinStandardHelpOptions = true,
      description =
          "Published snapshot versions, newest first: what each changed and which services caused it.")
  static final class History extends AdminCommand {
    @Option(
        names = {"-n", "--limit"},
        description = "At most this many entries. Default: ${DEFAULT-VALUE}")
    int limit = 20;

    @Override
    public Integer call() {
      if (limit < 1) {
        throw new CommandLine.ParameterException(
            spec.commandLine(), "--limit must be at least 1, was " + limit);
      }
      HistoryResponse response =
          root.call(admin -> admin.history(HistoryRequest.newBuilder().setLimit(limit).build()));
      if (root.printStructured(out(), response)) {
        return EXIT_OK;
      }
      Table table = new Table("VERSION", "PUBLISHED", "CAUSE", "CHANGES");
      for (HistoryEntry entry : response.getEntriesList()) {
        List<String> causes = new ArrayList<>();
        entry
            .getServicesList()
            .forEach(
                change ->
                    causes.add(
                        change.getService()
                            + " "
                            + change.getKind().name().toLowerCase(Locale.ROOT)
                            + (change.getChangedBy().isEmpty()
                                ? ""
                                : " (" + change.getChangedBy() + ")")));
        if (entry.getSettingsChanged()) {
          causes.add("settings");
        }
        if (entry.getInitial()) {
          causes.add("start");
        }
        table.row(
            entry.getVersion(),
            Formats.ago(entry.getPublishedAt()),
            String.join(", ", causes),
            Formats.changes(entry.getChangesList()));
      }
      if (table.isEmpty()) {
        out().println("Nothing has been published yet.");
      } else {
        table.print(out());
      }
      out().flush();
      return EXIT_OK;
    }
  }

  @Command(
      name = "diff",
      mixinStandardHelpOptions = true,
      description =
          "Resource names added, removed and modified between two snapshot versions of the history "
              + "(a unique prefix of at least 4 characters will do).")
  static final class Diff extends AdminCommand {
    @Parameters(index = "0", paramLabel = "FROM")
    String from;

    @Parameters(index = "1", paramLabel = "TO")
    String to;

    @Option(
        names = "--group",
        description = "A node group (all groups are currently sent the same snapshots).")
    String group = "";

    @Override
    public Integer call() {
      DiffSnapshotsResponse response =
          root.call(
              admin ->
                  admin.diffSnapshots(
                      DiffSnapshotsRequest.newBuilder()
                          .setGroup(group)
                          .setFromVersion(from)
                          .setToVersion(to)
                          .build()));
      if (root.printStructured(out(), response)) {
        return EXIT_OK;
      }
      PrintWriter out = out();
      out.println(response.getFromVersion() + " -> " + response.getToVersion());
      if (response.getChangesCount() == 0) {
        out.println("no differences");
      }
      for (ResourceChanges changes : response.getChangesList()) {
        out.println(changes.getType() + ":");
        changes.getAddedList().forEach(name -> out.println("  + " + name));
        changes.getRemovedList().forEach(name -> out.println("  - " + name));
        changes.getModifiedList().forEach(name -> out.println("  ~ " + name));
      }
      out.flush();
      return EXIT_OK;
    }
  }

  @Command(
      name = "drain",
      mixinStandardHelpOptions = true,
      description = {
        "Takes an instance out of load balancing: its endpoint leaves EDS at once (Envoy finishes "
            + "requests in flight), its lease stays, and it stays out for as long as that lease lives.",
        "Envoy rejects an endpoint weight of 0, so draining removes the endpoint rather than weighting it 0."
      })
  static final class Drain extends AdminCommand {
    @Parameters(index = "0", paramLabel = "SERVICE")
    String service;

    @Parameters(index = "1", paramLabel = "INSTANCE")
    String instance;

    @Option(
        names = "--evict-after",
        paramLabel = "DURATION",
        converter = SignalboxMain.DurationConverter.class,
        description =
            "Also deregister the instance this long after draining (unless undrained meanwhile). An "
                + "SDK-managed instance whose process still runs registers again after that.")
    Duration evictAfter;

    @Override
    public Integer call() {
      DrainInstanceRequest.Builder request =
          DrainInstanceRequest.newBuilder().setService(service).setInstanceId(instance);
      if (evictAfter != null) {
        request.setEvictAfter(com.google.protobuf.util.Durations.fromNanos(evictAfter.toNanos()));
      }
      Instance drained = root.call(admin -> admin.drainInstance(request.build()));
      if (!root.printStructured(out(), drained)) {
        out()
            .println(
                "drained "
                    + service
                    + "/"
                    + instance
                    + (drained.hasEvictAt()
                        ? "; evicting it " + Formats.in(drained.getEvictAt())
                        : ""));
        out().flush();
      }
      return EXIT_OK;
    }
  }

  @Command(
      name = "undrain",
      mixinStandardHelpOptions = true,
      description = "Puts a drained instance back into load balancing.")
  static final class Undrain extends AdminCommand {
    @Parameters(index = "0", paramLabel = "SERVICE")
    String service;

    @Parameters(index = "1", paramLabel = "INSTANCE")
    String instance;

    @Override
    public Integer call() {
      Instance serving =
          root.call(
              admin ->
                  admin.undrainInstance(
                      UndrainInstanceRequest.newBuilder()
                          .setService(service)
                          .setInstanceId(instance)
                          .build()));
      if (!root.printStructured(out(), serving)) {
        out().println("undrained " + service + "/" + instance);
        out().flush();
      }
      return EXIT_OK;
    }
  }

  @Command(
      name = "evict",
      mixinStandardHelpOptions = true,
      description = {
        "Deregisters one instance, or every instance of a service, in one step.",
        "An SDK-managed instance whose process still runs registers again; stop the process (or drain it)."
      })
  static final class Evict extends AdminCommand {
    @Parameters(index = "0", paramLabel = "SERVICE")
    String service;

    @Parameters(
        index = "1",
        paramLabel = "INSTANCE",
        arity = "0..1",
        description = "Default: every instance.")
    String instance;

    @Override
    public Integer call() {
      EvictResponse response =
          root.call(
              admin ->
                  admin.evict(
                      EvictRequest.newBuilder()
                          .setService(service)
                          .setInstanceId(instance == null ? "" : instance)
                          .build()));
      if (!root.printStructured(out(), response)) {
        out()
            .println(
                "evicted " + service + ": " + String.join(", ", response.getInstanceIdsList()));
        out().flush();
      }
      return EXIT_OK;
    }
  }

  @Command(
      name = "release",
      mixinStandardHelpOptions = true,
      description = {
        "Serves a quarantined service again (Envoy rejected its configuration).",
        "If Envoy still rejects it, it is quarantined again."
      })
  static final class Release extends AdminCommand {
    @Parameters(index = "0", paramLabel = "SERVICE")
    String service;

    @Override
    public Integer call() {
      Service released =
          root.call(
              admin ->
                  admin.releaseQuarantine(
                      ReleaseQuarantineRequest.newBuilder().setService(service).build()));
      if (!root.printStructured(out(), released)) {
        out()
            .println(
                released.getStatus() == RegistrationStatus.ACTIVE
                    ? service + " is ACTIVE: Envoy is sent its configuration"
                    : service
                        + " is "
                        + released.getStatus().name()
                        + ": "
                        + released.getStatusReason());
        out().flush();
      }
      return EXIT_OK;
    }
  }

  @Command(
      name = "pause",
      mixinStandardHelpOptions = true,
      description =
          "Stops pushing configuration: Envoys keep what they have; registrations are still accepted "
              + "and reach Envoy on resume.")
  static final class Pause extends AdminCommand {
    @Override
    public Integer call() {
      PushState state =
          root.call(admin -> admin.pausePushes(PausePushesRequest.getDefaultInstance()));
      if (!root.printStructured(out(), state)) {
        printPushState(out(), state, true);
      }
      return EXIT_OK;
    }
  }

  @Command(
      name = "resume",
      mixinStandardHelpOptions = true,
      description =
          "Pushes configuration again, starting with everything that changed while paused.")
  static final class Resume extends AdminCommand {
    @Override
    public Integer call() {
      PushState state =
          root.call(admin -> admin.resumePushes(ResumePushesRequest.getDefaultInstance()));
      if (!root.printStructured(out(), state)) {
        printPushState(out(), state, true);
      }
      return EXIT_OK;
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

  /** Text for tables. */
  static final class Formats {
    private Formats() {}

    static String version(String version) {
      return version.isEmpty() ? "none" : version.length() > 8 ? version.substring(0, 8) : version;
    }

    static String orNone(String version) {
      return version.isEmpty() ? "nothing yet" : version;
    }

    static String ago(com.google.protobuf.Timestamp at) {
      return duration(Duration.between(instant(at), Instant.now())) + " ago";
    }

    static String in(com.google.protobuf.Timestamp at) {
      return "in " + duration(Duration.between(Instant.now(), instant(at)));
    }

    static String duration(com.google.protobuf.Duration duration) {
      return duration(Duration.ofSeconds(duration.getSeconds(), duration.getNanos()));
    }

    static String duration(Duration duration) {
      long seconds = Math.max(0, duration.toSeconds());
      if (seconds < 60) {
        return duration.isNegative()
            ? "0s"
            : seconds == 0 ? duration.toMillis() / 100 / 10.0 + "s" : seconds + "s";
      }
      if (seconds < 3600) {
        return seconds / 60 + "m" + (seconds % 60 == 0 ? "" : seconds % 60 + "s");
      }
      if (seconds < 86400) {
        return seconds / 3600 + "h" + (seconds % 3600 / 60 == 0 ? "" : seconds % 3600 / 60 + "m");
      }
      return seconds / 86400
          + "d"
          + (seconds % 86400 / 3600 == 0 ? "" : seconds % 86400 / 3600 + "h");
    }

    static String changes(List<ResourceChanges> changes) {
      List<String> parts = new ArrayList<>();
      for (ResourceChanges type : changes) {
        StringBuilder part = new StringBuilder(type.getType());
        if (type.getAddedCount() > 0) {
          part.append(" +").append(type.getAddedCount());
        }
        if (type.getRemovedCount() > 0) {
          part.append(" -").append(type.getRemovedCount());
        }
        if (type.getModifiedCount() > 0) {
          part.append(" ~").append(type.getModifiedCount());
        }
        parts.add(part.toString());
      }
      return parts.isEmpty() ? "none" : String.join(", ", parts);
    }

    private static Instant instant(com.google.protobuf.Timestamp at) {
      return Instant.ofEpochSecond(at.getSeconds(), at.getNanos());
    }
  }

  /** The version of the build this runs from, when it is a packaged one. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = SignalboxCtl.class.getPackage().getImplementationVersion();
      return new String[] {"signalboxctl " + (version == null ? "(development build)" : version)};
    }
  }

  /** {@code host:port}. */
  record AdminAddress(String host, int port) {
    @Override
    public String toString() {
      return host + ":" + port;
    }
  }

  static final class AdminAddressConverter implements CommandLine.ITypeConverter<AdminAddress> {
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
}
