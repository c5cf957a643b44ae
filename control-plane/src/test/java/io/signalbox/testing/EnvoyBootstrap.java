package io.signalbox.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Renders the bootstrap for a test Envoy from the shipped {@code envoy/bootstrap/edge-gateway.yaml}, so the tests
 * run the same bootstrap as the demo, changing only what must differ per process.
 */
final class EnvoyBootstrap {

  static final Path TEMPLATE = Path.of("envoy", "bootstrap", "edge-gateway.yaml");
  static final String XDS_CLUSTER = "signalbox-xds";

  private static final YAMLMapper YAML = new YAMLMapper(
      YAMLFactory.builder().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER).build());

  private EnvoyBootstrap() {}

  static String render(String nodeId, String nodeCluster, EnvoyProcess.XdsMode xdsMode, List<Integer> xdsPorts) {
    Path template = EnvoyBinary.repoRoot().resolve(TEMPLATE);
    try {
      ObjectNode bootstrap = (ObjectNode) YAML.readTree(template.toFile());
      ((ObjectNode) bootstrap.get("node")).put("id", nodeId).put("cluster", nodeCluster);
      // Port 0: the kernel picks the admin port and Envoy reports it through --admin-address-path.
      ((ObjectNode) bootstrap.at("/admin/address/socket_address")).put("port_value", 0);
      ((ObjectNode) bootstrap.at("/dynamic_resources/ads_config")).put("api_type", xdsMode.apiType());
      ArrayNode endpoints = ((ObjectNode) xdsCluster(bootstrap, template).at("/load_assignment/endpoints/0"))
          .putArray("lb_endpoints");
      for (int port : xdsPorts) {
        endpoints.addObject().putObject("endpoint").putObject("address").putObject("socket_address")
            .put("address", "127.0.0.1")
            .put("port_value", port);
      }
      return YAML.writeValueAsString(bootstrap);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot render a bootstrap from " + template, e);
    }
  }

  private static ObjectNode xdsCluster(JsonNode bootstrap, Path template) {
    for (JsonNode cluster : bootstrap.at("/static_resources/clusters")) {
      if (XDS_CLUSTER.equals(cluster.path("name").asText())) {
        return (ObjectNode) cluster;
      }
    }
    throw new IllegalStateException(template + " has no static cluster named " + XDS_CLUSTER);
  }
}
