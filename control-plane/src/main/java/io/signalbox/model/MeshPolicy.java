package io.signalbox.model;

import java.util.List;

/**
 * What a service says about the mesh (sidecar mode), as its most recent registration says.
 *
 * @param allowedCallers who may call it through its sidecars: service names and SPIFFE IDs, as
 *     registered; empty for every workload of the mesh
 * @param calls the services its sidecars call: they are sent only those services' clusters,
 *     endpoints and routes; empty for every service
 */
public record MeshPolicy(List<String> allowedCallers, List<String> calls) {

  /** Every workload of the mesh may call; the sidecars may call every service. */
  public static final MeshPolicy OPEN = new MeshPolicy(List.of(), List.of());

  public MeshPolicy {
    allowedCallers = allowedCallers == null ? List.of() : List.copyOf(allowedCallers);
    calls = calls == null ? List.of() : List.copyOf(calls);
  }

  /** Whether the sidecars are scoped to the services they call. */
  public boolean scoped() {
    return !calls.isEmpty();
  }
}
