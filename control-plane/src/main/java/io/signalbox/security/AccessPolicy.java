package io.signalbox.security;

import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The operator's word on who may do what (the {@code access:} section of the settings file). Rules
 * add to a convention that needs no rules at all: in the trust domain {@code td}, identity {@code
 * spiffe://td/service/NAME} may register service {@code NAME}, and {@code spiffe://td/envoy/GROUP}
 * may fetch the configuration of node group {@code GROUP}. Nobody is an admin unless a rule says
 * so.
 *
 * @param trustDomain the SPIFFE trust domain of the convention
 * @param registrants who may register which services, beyond the convention
 * @param grants per service, the hosts and path prefixes it may claim; a service without a grant
 *     may claim any route that no other service holds
 * @param envoys which identities may fetch which node groups' configuration, beyond the convention
 * @param operators the admin role of each identity
 */
public record AccessPolicy(
    String trustDomain,
    List<RegistrantRule> registrants,
    SortedMap<String, ServiceGrant> grants,
    List<EnvoyRule> envoys,
    List<OperatorRule> operators) {

  public static final String DEFAULT_TRUST_DOMAIN = "signalbox.local";

  /** The convention alone, in the default trust domain. */
  public static final AccessPolicy DEFAULT =
      new AccessPolicy(DEFAULT_TRUST_DOMAIN, List.of(), new TreeMap<>(), List.of(), List.of());

  /** {@code identity} may register the listed services; {@code *} stands for every service. */
  public record RegistrantRule(IdentityPattern identity, Set<String> services) {
    public RegistrantRule {
      Objects.requireNonNull(identity, "identity");
      services = Set.copyOf(services);
    }
  }

  /**
   * What a service may claim. A route's hosts must be among {@code hosts} ({@code *} is a route
   * without hosts, which Envoy serves on every host) and its path inside one of {@code
   * pathPrefixes} (segment-aware; a regex route by its literal beginning). A grant is also a
   * delegation: a path prefix granted here may be claimed even inside another service's prefix,
   * which an ungranted route may not.
   */
  public record ServiceGrant(String service, List<String> hosts, List<String> pathPrefixes) {
    public ServiceGrant {
      Objects.requireNonNull(service, "service");
      hosts = List.copyOf(hosts);
      pathPrefixes = List.copyOf(pathPrefixes);
    }
  }

  /**
   * {@code identity} may fetch the configuration of the listed node groups ({@code node.cluster}).
   */
  public record EnvoyRule(IdentityPattern identity, Set<String> groups) {
    public EnvoyRule {
      Objects.requireNonNull(identity, "identity");
      groups = Set.copyOf(groups);
    }
  }

  public record OperatorRule(IdentityPattern identity, AdminRole role) {
    public OperatorRule {
      Objects.requireNonNull(identity, "identity");
      Objects.requireNonNull(role, "role");
    }
  }

  public AccessPolicy {
    Objects.requireNonNull(trustDomain, "trustDomain");
    registrants = List.copyOf(registrants);
    grants = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(grants));
    envoys = List.copyOf(envoys);
    operators = List.copyOf(operators);
  }

  /** The identity the convention gives the instances of {@code service}. */
  public Identity serviceIdentity(String service) {
    return new Identity("spiffe://" + trustDomain + "/service/" + service);
  }

  /** The identity the convention gives the Envoys of {@code group}. */
  public Identity envoyIdentity(String group) {
    return new Identity("spiffe://" + trustDomain + "/envoy/" + group);
  }

  public boolean mayRegister(Identity who, String service) {
    return serviceIdentity(service).equals(who)
        || registrants.stream()
            .anyMatch(
                rule ->
                    rule.identity().matches(who)
                        && (rule.services().contains(service) || rule.services().contains("*")));
  }

  public Optional<ServiceGrant> grant(String service) {
    return Optional.ofNullable(grants.get(service));
  }

  public boolean mayFetch(Identity who, String group) {
    return envoyIdentity(group).equals(who)
        || envoys.stream()
            .anyMatch(
                rule ->
                    rule.identity().matches(who)
                        && (rule.groups().contains(group) || rule.groups().contains("*")));
  }

  /**
   * Whether {@code who} is an Envoy: named by the convention for some group, or by an {@code
   * envoys} rule.
   */
  public boolean isEnvoy(Identity who) {
    String conventionPrefix = "spiffe://" + trustDomain + "/envoy/";
    return who.value().startsWith(conventionPrefix)
            && who.value().length() > conventionPrefix.length()
        || envoys.stream().anyMatch(rule -> rule.identity().matches(who));
  }

  /** The highest role any rule gives {@code who}. */
  public Optional<AdminRole> role(Identity who) {
    return operators.stream()
        .filter(rule -> rule.identity().matches(who))
        .map(OperatorRule::role)
        .max(Comparator.naturalOrder());
  }

  /** Grants by service, for building one. */
  public static SortedMap<String, ServiceGrant> grantsByService(List<ServiceGrant> grants) {
    SortedMap<String, ServiceGrant> byService = new TreeMap<>();
    grants.forEach(grant -> byService.put(grant.service(), grant));
    return byService;
  }
}
