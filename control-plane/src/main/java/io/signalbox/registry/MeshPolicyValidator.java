package io.signalbox.registry;

import static io.signalbox.registry.Fields.abbreviate;
import static io.signalbox.registry.Fields.check;
import static io.signalbox.registry.RegistrationRules.MAX_ALLOWED_CALLERS;
import static io.signalbox.registry.RegistrationValidator.SERVICE_NAME;

import io.signalbox.model.MeshPolicy;
import io.signalbox.registry.v1.RegisterRequest;
import java.util.List;

/**
 * What a registration says about the mesh (sidecar mode): who may call the service ({@code
 * allowed_callers}) and whom it calls ({@code calls}), bounded and checked before they cost
 * anything.
 */
final class MeshPolicyValidator {

  static final int MAX_CALLS = 256;

  private MeshPolicyValidator() {}

  static MeshPolicy mesh(RegisterRequest request) {
    return new MeshPolicy(
        allowedCallers(request.getAllowedCallersList()), calls(request.getCallsList()));
  }

  /** Service names or SPIFFE IDs, at most {@value #MAX_ALLOWED_CALLERS}, none twice. */
  private static List<String> allowedCallers(List<String> callers) {
    check(
        callers.size() <= MAX_ALLOWED_CALLERS,
        "allowed_callers",
        "has more than " + MAX_ALLOWED_CALLERS + " entries");
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (int i = 0; i < callers.size(); i++) {
      String caller = callers.get(i);
      String field = "allowed_callers[" + i + "]";
      check(
          RegistrationRules.isCaller(caller),
          field,
          "'"
              + abbreviate(caller)
              + "' is not a service name or a SPIFFE ID (spiffe://DOMAIN/PATH)");
      check(seen.add(caller), field, "'" + caller + "' is listed twice");
    }
    return List.copyOf(callers);
  }

  /** Service names, at most {@value #MAX_CALLS}, none twice. */
  private static List<String> calls(List<String> calls) {
    check(calls.size() <= MAX_CALLS, "calls", "has more than " + MAX_CALLS + " entries");
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (int i = 0; i < calls.size(); i++) {
      String callee = calls.get(i);
      String field = "calls[" + i + "]";
      check(
          SERVICE_NAME.matcher(callee).matches(),
          field,
          "'" + abbreviate(callee) + "' is not a service name");
      check(seen.add(callee), field, "'" + callee + "' is listed twice");
    }
    return List.copyOf(calls);
  }
}
