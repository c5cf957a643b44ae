package io.signalbox.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.TreeMap;

/** Reads what an Envoy runs from its admin {@code /config_dump}. */
final class ConfigDumps {

  private static final ObjectMapper JSON = new ObjectMapper();

  private ConfigDumps() {}

  /**
   * Every dynamic listener, route configuration and cluster Envoy has accepted, by name, as JSON.
   * Their {@code version_info} is left out on purpose: it records the response in force when each
   * resource last changed, which depends on the history an Envoy saw, not on what it runs.
   */
  static Map<String, String> resources(String configDump) {
    Map<String, String> versions = new TreeMap<>();
    try {
      for (JsonNode config : JSON.readTree(configDump).path("configs")) {
        collect(config.path("dynamic_listeners"), "active_state", "listener", versions);
        collect(config.path("dynamic_route_configs"), null, "route_config", versions);
        collect(config.path("dynamic_active_clusters"), null, "cluster", versions);
      }
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
    return versions;
  }

  private static void collect(
      JsonNode entries, String wrapper, String field, Map<String, String> versions) {
    for (JsonNode entry : entries) {
      JsonNode state = wrapper == null ? entry : entry.path(wrapper);
      versions.put(state.path(field).path("name").asText(), state.path(field).toString());
    }
  }
}
