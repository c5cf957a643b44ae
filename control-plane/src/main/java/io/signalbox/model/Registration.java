package io.signalbox.model;

import java.util.List;
import java.util.Objects;

/**
 * One validated {@code Register} call: an instance of a service and the routes the service wants.
 *
 * @param registrant the identity that registered it, which owns its lease (only it may renew,
 *     deregister or register the instance again); empty when it was registered without TLS (nobody
 *     in particular)
 * @param delegatedPrefixes the path prefixes the operator granted the service when it registered: a
 *     route inside one of them may lie inside another service's prefix (the operator delegated that
 *     sub-path), and a regex route may begin with one of them. Kept with the registration so that
 *     every replica judges its routes alike.
 * @param mesh who may call the service through its sidecars, and whom they call
 */
public record Registration(
    String service,
    Instance instance,
    List<RouteSpec> routes,
    String registrant,
    List<String> delegatedPrefixes,
    UpstreamProtocol protocol,
    TrafficPolicy traffic,
    MeshPolicy mesh) {

  public Registration {
    Objects.requireNonNull(service, "service");
    Objects.requireNonNull(instance, "instance");
    routes = routes == null ? List.of() : List.copyOf(routes);
    Objects.requireNonNull(registrant, "registrant");
    delegatedPrefixes = delegatedPrefixes == null ? List.of() : List.copyOf(delegatedPrefixes);
    protocol = protocol == null ? UpstreamProtocol.HTTP1 : protocol;
    traffic = traffic == null ? TrafficPolicy.DEFAULT : traffic;
    mesh = mesh == null ? MeshPolicy.OPEN : mesh;
  }

  /** A registration that leaves the mesh to its defaults. */
  public Registration(
      String service,
      Instance instance,
      List<RouteSpec> routes,
      String registrant,
      List<String> delegatedPrefixes,
      UpstreamProtocol protocol,
      TrafficPolicy traffic) {
    this(
        service,
        instance,
        routes,
        registrant,
        delegatedPrefixes,
        protocol,
        traffic,
        MeshPolicy.OPEN);
  }

  /** A registration of an HTTP/1.1 service. */
  public Registration(
      String service,
      Instance instance,
      List<RouteSpec> routes,
      String registrant,
      List<String> delegatedPrefixes) {
    this(
        service,
        instance,
        routes,
        registrant,
        delegatedPrefixes,
        UpstreamProtocol.HTTP1,
        TrafficPolicy.DEFAULT);
  }

  /** A registration by {@code registrant} without delegated path prefixes. */
  public Registration(
      String service, Instance instance, List<RouteSpec> routes, String registrant) {
    this(service, instance, routes, registrant, List.of());
  }

  /** A registration by nobody in particular (made without TLS). */
  public Registration(String service, Instance instance, List<RouteSpec> routes) {
    this(service, instance, routes, "");
  }

  public Registration withRegistrant(String identity) {
    return new Registration(
        service, instance, routes, identity, delegatedPrefixes, protocol, traffic, mesh);
  }

  public Registration withDelegatedPrefixes(List<String> prefixes) {
    return new Registration(
        service, instance, routes, registrant, prefixes, protocol, traffic, mesh);
  }

  public Registration withProtocol(UpstreamProtocol upstreamProtocol) {
    return new Registration(
        service, instance, routes, registrant, delegatedPrefixes, upstreamProtocol, traffic, mesh);
  }

  public Registration withTraffic(TrafficPolicy policy) {
    return new Registration(
        service, instance, routes, registrant, delegatedPrefixes, protocol, policy, mesh);
  }

  public Registration withMesh(MeshPolicy policy) {
    return new Registration(
        service, instance, routes, registrant, delegatedPrefixes, protocol, traffic, policy);
  }

  /**
   * About how much memory this registration holds, in bytes: an object header and a reference for
   * every value, route, header and policy it carries and a byte per character ({@link
   * ApproximateSize}). Used to bound the registry's size; computed in time proportional to the
   * registration, never to the registry, and from the registration alone, so every replica counts
   * it alike.
   */
  public long approximateBytes() {
    return ApproximateSize.of(this);
  }
}
