package io.signalbox.translate;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;

/** Shared builder: how a cluster's connections speak HTTP, as typed extension protocol options. */
final class UpstreamProtocolOptions {

  private static final Any HTTP2 =
      Any.pack(
          HttpProtocolOptions.newBuilder()
              .setExplicitHttpConfig(
                  HttpProtocolOptions.ExplicitHttpConfig.newBuilder()
                      .setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance()))
              .build());

  private UpstreamProtocolOptions() {}

  /** Makes the cluster speak HTTP/2 (h2c, prior knowledge; TLS adds ALPN "h2" of its own). */
  static Cluster.Builder http2(Cluster.Builder cluster) {
    return cluster.putTypedExtensionProtocolOptions(XdsNames.HTTP_PROTOCOL_OPTIONS, HTTP2);
  }
}
