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
import java.util.Objects;
import java.util.Optional;

/**
 * Renders the bootstrap for a test Envoy from the shipped {@code
 * envoy/bootstrap/edge-gateway.yaml}, so the tests run the same bootstrap as the demo, changing
 * only what must differ per process.
 */
public final class EnvoyBootstrap {

  static final Path TEMPLATE = Path.of("envoy", "bootstrap", "edge-gateway.yaml");
  static final Path SIDECAR_TEMPLATE = Path.of("envoy", "bootstrap", "sidecar.yaml");
  static final String XDS_CLUSTER = "signalbox-xds";

  private static final YAMLMapper YAML =
      new YAMLMapper(
          YAMLFactory.builder().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER).build());

  private EnvoyBootstrap() {}

  /**
   * Mutual TLS from Envoy to the control plane: Envoy presents {@code certificateChain}/{@code
   * privateKey}, trusts only {@code trustedCa}, sends {@code serverName} as SNI and requires it as
   * a DNS SAN of the server's certificate, and offers ALPN {@code h2} (gRPC servers refuse TLS
   * connections that did not negotiate it). PEM files.
   */
  public record XdsTls(Path certificateChain, Path privateKey, Path trustedCa, String serverName) {
    public XdsTls {
      Objects.requireNonNull(certificateChain, "certificateChain");
      Objects.requireNonNull(privateKey, "privateKey");
      Objects.requireNonNull(trustedCa, "trustedCa");
      Objects.requireNonNull(serverName, "serverName");
    }
  }

  /**
   * @param sidecarOf the service whose sidecar the Envoy is (rendered from {@link
   *     #SIDECAR_TEMPLATE}); empty for an edge Envoy
   * @param nodeInEveryRequest whether Envoy sends its node in every xDS request, not in each
   *     stream's first only as the shipped bootstraps have it ({@code
   *     set_node_on_first_message_only})
   */
  static String render(
      String nodeId,
      String nodeCluster,
      Optional<String> sidecarOf,
      EnvoyProcess.XdsMode xdsMode,
      List<Integer> xdsPorts,
      Optional<XdsTls> xdsTls,
      boolean nodeInEveryRequest) {
    Path template =
        EnvoyBinary.repoRoot().resolve(sidecarOf.isPresent() ? SIDECAR_TEMPLATE : TEMPLATE);
    try {
      ObjectNode bootstrap = (ObjectNode) YAML.readTree(template.toFile());
      ObjectNode node = ((ObjectNode) bootstrap.get("node")).put("id", nodeId);
      if (sidecarOf.isPresent()) {
        node.put("cluster", sidecarOf.get());
        ((ObjectNode) node.get("metadata")).put("signalbox.service", sidecarOf.get());
      } else {
        node.put("cluster", nodeCluster);
      }
      // Port 0: the kernel picks the admin port and Envoy reports it through --admin-address-path.
      ((ObjectNode) bootstrap.at("/admin/address/socket_address")).put("port_value", 0);
      ((ObjectNode) bootstrap.at("/dynamic_resources/ads_config"))
          .put("api_type", xdsMode.apiType());
      if (nodeInEveryRequest) {
        ((ObjectNode) bootstrap.at("/dynamic_resources/ads_config"))
            .put("set_node_on_first_message_only", false);
      }
      ArrayNode endpoints =
          ((ObjectNode) xdsCluster(bootstrap, template).at("/load_assignment/endpoints/0"))
              .putArray("lb_endpoints");
      for (int port : xdsPorts) {
        endpoints
            .addObject()
            .putObject("endpoint")
            .putObject("address")
            .putObject("socket_address")
            .put("address", "127.0.0.1")
            .put("port_value", port);
      }
      xdsTls.ifPresent(tls -> addTransportSocket(xdsCluster(bootstrap, template), tls));
      return YAML.writeValueAsString(bootstrap);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot render a bootstrap from " + template, e);
    }
  }

  private static void addTransportSocket(ObjectNode cluster, XdsTls tls) {
    ObjectNode context =
        cluster
            .putObject("transport_socket")
            .put("name", "envoy.transport_sockets.tls")
            .putObject("typed_config")
            .put(
                "@type",
                "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext")
            .put("sni", tls.serverName());
    ObjectNode common = context.putObject("common_tls_context");
    common.putArray("alpn_protocols").add("h2");
    ObjectNode certificate = common.putArray("tls_certificates").addObject();
    certificate
        .putObject("certificate_chain")
        .put("filename", tls.certificateChain().toAbsolutePath().toString());
    certificate
        .putObject("private_key")
        .put("filename", tls.privateKey().toAbsolutePath().toString());
    ObjectNode validation = common.putObject("validation_context");
    validation.putObject("trusted_ca").put("filename", tls.trustedCa().toAbsolutePath().toString());
    validation
        .putArray("match_typed_subject_alt_names")
        .addObject()
        .put("san_type", "DNS")
        .putObject("matcher")
        .put("exact", tls.serverName());
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
