package io.signalbox.bench;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.core.v3.Node;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The node a simulated Envoy sends: its id, cluster and metadata, and, as a real Envoy's, what it
 * says of itself. Envoy 1.40 lists the 516 extensions it was built with (captured from its admin
 * interface's config dump into {@code envoy-1.40-node.json}): 61 KB per request that names the
 * node, which a simulated fleet of bare ids and clusters did not send.
 */
enum EnvoyNodes {
  /** Id, cluster and metadata only: the node the fan-out bench sent before. */
  MINIMAL,
  /** What Envoy 1.40 sends: user agent and the list of its extensions besides. */
  ENVOY;

  private static final String CAPTURE = "/envoy-1.40-node.json";

  /** {@code base} as this kind of node. */
  Node of(Node base) {
    return this == MINIMAL ? base : base.toBuilder().mergeFrom(Capture.NODE).build();
  }

  /** Loaded once, on first use. */
  private static final class Capture {
    static final Node NODE = load();

    private static Node load() {
      try (InputStream in = EnvoyNodes.class.getResourceAsStream(CAPTURE)) {
        if (in == null) {
          throw new IllegalStateException(CAPTURE + " is not on the class path");
        }
        Node.Builder node = Node.newBuilder();
        JsonFormat.parser().merge(new String(in.readAllBytes(), StandardCharsets.UTF_8), node);
        return node.build();
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException("cannot read " + CAPTURE, e);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
