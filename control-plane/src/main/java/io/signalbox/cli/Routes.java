package io.signalbox.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.InvalidProtocolBufferException;
import io.signalbox.admin.v1.ListServicesRequest;
import io.signalbox.admin.v1.ListServicesResponse;
import io.signalbox.admin.v1.PolicySource;
import io.signalbox.admin.v1.Route;
import io.signalbox.registry.v1.RateLimitPolicy;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "routes",
    mixinStandardHelpOptions = true,
    description =
        "Every route with its owner and the policies in force (registration's own, else the "
            + "operator's default).")
final class Routes extends AdminCommand {
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
    if (root.output != SignalboxCtl.Format.table) {
      ObjectNode tree = SignalboxCtl.JSON.createObjectNode();
      ArrayNode list = tree.putArray("routes");
      for (Route route : routes) {
        try {
          list.add(SignalboxCtl.JSON.readTree(SignalboxCtl.PROTO_JSON.print(route)));
        } catch (InvalidProtocolBufferException
            | com.fasterxml.jackson.core.JsonProcessingException e) {
          throw new IllegalStateException("cannot print the response", e);
        }
      }
      root.printTree(out(), tree);
      return SignalboxCtl.EXIT_OK;
    }
    Table table =
        new Table(
            "OWNER",
            "MATCH",
            "HOSTS",
            "ACTION",
            "DESTINATION",
            "AUTH",
            "RATE LIMIT",
            "ENFORCED BY");
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
                // A route that answers by itself (redirect, direct response) sends nowhere.
                route.getDestination().isEmpty() ? "-" : route.getDestination(),
                auth(route),
                rateLimit(route),
                route.getPoliciesEnforcedAt() == io.signalbox.admin.v1.PolicyEnforcement.AT_SIDECARS
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
    return SignalboxCtl.EXIT_OK;
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
