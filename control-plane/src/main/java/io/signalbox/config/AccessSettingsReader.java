package io.signalbox.config;

import io.signalbox.registry.RegistrationRules;
import io.signalbox.security.AccessPolicy;
import io.signalbox.security.AdminRole;
import io.signalbox.security.IdentityPattern;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Checks the {@code access:} section of the settings file and builds the {@link AccessPolicy};
 * errors name fields.
 */
final class AccessSettingsReader {

  private static final Pattern SERVICE = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
  private static final Pattern TRUST_DOMAIN =
      Pattern.compile("[a-z0-9]([a-z0-9.-]{0,253}[a-z0-9])?");

  private static final Pattern HOST =
      Pattern.compile("(\\*\\.)?[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?");

  private AccessSettingsReader() {}

  static AccessPolicy read(SettingsFileFormat.Access format) {
    if (format == null) {
      return AccessPolicy.DEFAULT;
    }
    String trustDomain =
        format.trustDomain == null ? AccessPolicy.DEFAULT_TRUST_DOMAIN : format.trustDomain;
    check(
        TRUST_DOMAIN.matcher(trustDomain).matches(),
        "access.trustDomain",
        "'" + trustDomain + "' is not a trust domain (lowercase DNS name, e.g. corp.example.com)");
    List<AccessPolicy.RegistrantRule> registrants = new ArrayList<>();
    for (int i = 0; i < format.registrants.size(); i++) {
      String field = "access.registrants[" + i + "]";
      SettingsFileFormat.Registrant rule = format.registrants.get(i);
      check(!rule.services.isEmpty(), field + ".services", "name at least one service (or \"*\")");
      for (int s = 0; s < rule.services.size(); s++) {
        String service = rule.services.get(s);
        check(
            service != null && (service.equals("*") || SERVICE.matcher(service).matches()),
            field + ".services[" + s + "]",
            "'" + service + "' is not a service name");
      }
      registrants.add(
          new AccessPolicy.RegistrantRule(
              identity(field + ".identity", rule.identity), Set.copyOf(rule.services)));
    }
    List<AccessPolicy.ServiceGrant> grants = new ArrayList<>();
    Set<String> granted = new HashSet<>();
    for (int i = 0; i < format.services.size(); i++) {
      grants.add(grant("access.services[" + i + "]", format.services.get(i), granted));
    }
    List<AccessPolicy.EnvoyRule> envoys = new ArrayList<>();
    for (int i = 0; i < format.envoys.size(); i++) {
      String field = "access.envoys[" + i + "]";
      SettingsFileFormat.Envoy rule = format.envoys.get(i);
      check(!rule.groups.isEmpty(), field + ".groups", "name at least one node group (or \"*\")");
      for (int g = 0; g < rule.groups.size(); g++) {
        String group = rule.groups.get(g);
        check(
            group != null
                && (group.equals("*") || io.signalbox.model.Names.FLEET.matcher(group).matches()),
            field + ".groups[" + g + "]",
            "'" + group + "' is not a node group (1-128 of letters, digits, '.', '_', ':', '-')");
      }
      envoys.add(
          new AccessPolicy.EnvoyRule(
              identity(field + ".identity", rule.identity), Set.copyOf(rule.groups)));
    }
    List<AccessPolicy.OperatorRule> operators = new ArrayList<>();
    for (int i = 0; i < format.operators.size(); i++) {
      String field = "access.operators[" + i + "]";
      SettingsFileFormat.Operator rule = format.operators.get(i);
      operators.add(
          new AccessPolicy.OperatorRule(
              identity(field + ".identity", rule.identity), role(field + ".role", rule.role)));
    }
    java.util.SortedMap<String, List<String>> callers = new java.util.TreeMap<>();
    for (int i = 0; i < format.callers.size(); i++) {
      callers("access.callers[" + i + "]", format.callers.get(i), callers);
    }
    return new AccessPolicy(
        trustDomain, registrants, AccessPolicy.grantsByService(grants), envoys, operators, callers);
  }

  /** Who may call one service: service names or SPIFFE IDs, none twice; one rule per service. */
  private static void callers(
      String field,
      SettingsFileFormat.Callers format,
      java.util.SortedMap<String, List<String>> callers) {
    check(
        // The names services register under: a rule for any other could never apply.
        format.service != null
            && io.signalbox.model.Names.SERVICE.matcher(format.service).matches(),
        field + ".service",
        "'" + format.service + "' is not a service name");
    check(
        !callers.containsKey(format.service),
        field + ".service",
        "'" + format.service + "' has a rule already");
    // Required, so that a rule written without it is not read as "nobody may call".
    check(
        format.allowed != null,
        field + ".allowed",
        "is required (service names or SPIFFE IDs; [] lets nobody call)");
    check(
        format.allowed.size() <= RegistrationRules.MAX_ALLOWED_CALLERS,
        field + ".allowed",
        "has more than " + RegistrationRules.MAX_ALLOWED_CALLERS + " entries");
    Set<String> seen = new HashSet<>();
    for (int c = 0; c < format.allowed.size(); c++) {
      String caller = format.allowed.get(c);
      String callerField = field + ".allowed[" + c + "]";
      check(
          caller != null && RegistrationRules.isCaller(caller),
          callerField,
          "'" + caller + "' is not a service name or a SPIFFE ID (spiffe://DOMAIN/PATH)");
      check(seen.add(caller), callerField, "'" + caller + "' is listed twice");
    }
    callers.put(format.service, List.copyOf(format.allowed));
  }

  private static AccessPolicy.ServiceGrant grant(
      String field, SettingsFileFormat.ServiceGrant format, Set<String> granted) {
    check(
        format.service != null && SERVICE.matcher(format.service).matches(),
        field + ".service",
        "'" + format.service + "' is not a service name");
    check(
        granted.add(format.service),
        field + ".service",
        "'" + format.service + "' has a grant already");
    List<String> hosts = format.hosts == null ? List.of("*") : format.hosts;
    check(
        !hosts.isEmpty(),
        field + ".hosts",
        "name at least one host (\"*\" for routes without hosts)");
    for (int h = 0; h < hosts.size(); h++) {
      String host = hosts.get(h);
      check(
          host != null
              && (host.equals("*") || HOST.matcher(host.toLowerCase(Locale.ROOT)).matches()),
          field + ".hosts[" + h + "]",
          "'" + host + "' is not a host name (e.g. api.example.com, *.example.com, *)");
    }
    List<String> prefixes = format.pathPrefixes == null ? List.of("/") : format.pathPrefixes;
    check(
        !prefixes.isEmpty(),
        field + ".pathPrefixes",
        "name at least one path prefix (\"/\" for any path)");
    for (int p = 0; p < prefixes.size(); p++) {
      String prefix = prefixes.get(p);
      check(
          prefix != null
              && prefix.startsWith("/")
              && prefix.length() <= 1024
              && prefix.chars().allMatch(c -> c > 0x20 && c < 0x7f && c != '?' && c != '#'),
          field + ".pathPrefixes[" + p + "]",
          "'" + prefix + "' is not a path prefix (it begins with '/')");
    }
    return new AccessPolicy.ServiceGrant(
        format.service, hosts.stream().map(h -> h.toLowerCase(Locale.ROOT)).toList(), prefixes);
  }

  private static IdentityPattern identity(String field, String value) {
    check(value != null && !value.isBlank(), field, "is required");
    try {
      return new IdentityPattern(value);
    } catch (IllegalArgumentException e) {
      throw new InvalidSettingsException(field + ": " + e.getMessage());
    }
  }

  private static AdminRole role(String field, String value) {
    for (AdminRole role : AdminRole.values()) {
      if (role.label().equals(value)) {
        return role;
      }
    }
    throw new InvalidSettingsException(
        field + ": '" + value + "' is not a role (viewer or operator)");
  }

  private static void check(boolean condition, String field, String message) {
    if (!condition) {
      throw new InvalidSettingsException(field + ": " + message);
    }
  }
}
