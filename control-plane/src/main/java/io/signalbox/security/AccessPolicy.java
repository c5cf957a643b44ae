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
 * @param callers per service, who may call it through its sidecars (service names or SPIFFE IDs): a
 *     caller must be allowed here and by the service's own {@code allowed_callers} when it names
 *     any ({@link #allowedCallers})
 */
public record AccessPolicy(
    String trustDomain,
    List<RegistrantRule> registrants,
    SortedMap<String, ServiceGrant> grants,
    List<EnvoyRule> envoys,
    List<OperatorRule> operators,
    SortedMap<String, List<String>> callers) {

  /**
   * No operator's word on who may call which service: the services' own {@code allowed_callers}.
   */
  public AccessPolicy(
      String trustDomain,
      List<RegistrantRule> registrants,
      SortedMap<String, ServiceGrant> grants,
      List<EnvoyRule> envoys,
      List<OperatorRule> operators) {
    this(trustDomain, registrants, grants, envoys, operators, new TreeMap<>());
  }

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
    SortedMap<String, List<String>> callersCopy = new TreeMap<>();
    callers.forEach((service, allowed) -> callersCopy.put(service, List.copyOf(allowed)));
    callers = java.util.Collections.unmodifiableSortedMap(callersCopy);
  }

  /**
   * The workload identities that may call {@code service} through its sidecars, as the operator and
   * the service agree: those both allow when both name callers, else those the one that does
   * allows; empty when neither names any, and every workload of the mesh may call. A service name
   * stands for its workload identity.
   *
   * @param ownCallers the service's own {@code allowed_callers}
   */
  public Optional<java.util.SortedSet<String>> allowedCallers(
      String service, List<String> ownCallers) {
    Optional<java.util.SortedSet<String>> operators =
        Optional.ofNullable(callers.get(service)).map(this::identities);
    Optional<java.util.SortedSet<String>> own =
        ownCallers.isEmpty() ? Optional.empty() : Optional.of(identities(ownCallers));
    if (operators.isEmpty()) {
      return own;
    }
    if (own.isEmpty()) {
      return operators;
    }
    java.util.SortedSet<String> both = new java.util.TreeSet<>(operators.get());
    both.retainAll(own.get());
    return Optional.of(java.util.Collections.unmodifiableSortedSet(both));
  }

  private java.util.SortedSet<String> identities(List<String> callers) {
    java.util.SortedSet<String> identities = new java.util.TreeSet<>();
    for (String caller : callers) {
      identities.add(caller.startsWith("spiffe://") ? caller : serviceIdentity(caller).value());
    }
    return identities;
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
