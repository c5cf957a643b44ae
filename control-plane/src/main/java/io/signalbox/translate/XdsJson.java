package io.signalbox.translate;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication;
import io.envoyproxy.envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit;
import io.envoyproxy.envoy.extensions.filters.http.ratelimit.v3.RateLimit;
import io.envoyproxy.envoy.extensions.filters.http.ratelimit.v3.RateLimitPerRoute;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBACPerRoute;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;

/**
 * Envoy resources as proto JSON, with every type Signalbox packs into an {@code Any} resolvable.
 * Private keys in secrets print as {@value #REDACTED}: this is the one printer for golden files,
 * logs and admin dumps.
 */
public final class XdsJson {

  public static final String REDACTED = "[redacted]";

  private static final JsonFormat.TypeRegistry TYPES =
      JsonFormat.TypeRegistry.newBuilder()
          .add(HttpConnectionManager.getDescriptor())
          .add(Router.getDescriptor())
          .add(JwtAuthentication.getDescriptor())
          .add(
              io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig
                  .getDescriptor())
          .add(RBAC.getDescriptor())
          .add(RBACPerRoute.getDescriptor())
          .add(LocalRateLimit.getDescriptor())
          .add(RateLimit.getDescriptor())
          .add(RateLimitPerRoute.getDescriptor())
          .add(TlsInspector.getDescriptor())
          .add(DownstreamTlsContext.getDescriptor())
          .add(UpstreamTlsContext.getDescriptor())
          .add(HttpProtocolOptions.getDescriptor())
          .add(io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog.getDescriptor())
          .add(io.envoyproxy.envoy.extensions.filters.http.cors.v3.Cors.getDescriptor())
          .add(io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy.getDescriptor())
          .add(Secret.getDescriptor())
          .add(io.envoyproxy.envoy.config.route.v3.FilterConfig.getDescriptor())
          .add(io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault.getDescriptor())
          .add(io.envoyproxy.envoy.extensions.filters.http.compressor.v3.Compressor.getDescriptor())
          .add(
              io.envoyproxy.envoy.extensions.filters.http.compressor.v3.CompressorPerRoute
                  .getDescriptor())
          .add(io.envoyproxy.envoy.extensions.compression.gzip.compressor.v3.Gzip.getDescriptor())
          .add(
              io.envoyproxy.envoy.extensions.compression.brotli.compressor.v3.Brotli
                  .getDescriptor())
          .add(io.envoyproxy.envoy.extensions.filters.http.buffer.v3.Buffer.getDescriptor())
          .add(io.envoyproxy.envoy.extensions.filters.http.buffer.v3.BufferPerRoute.getDescriptor())
          .build();

  private static final JsonFormat.Printer PRINTER = JsonFormat.printer().usingTypeRegistry(TYPES);

  private XdsJson() {}

  public static String print(MessageOrBuilder message) {
    try {
      return PRINTER.print(message instanceof Secret secret ? redacted(secret) : message);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("a resource type is missing from XdsJson's type registry", e);
    }
  }

  /**
   * The secret with its private key (and any generic secret value) replaced by {@value #REDACTED}.
   */
  public static Secret redacted(Secret secret) {
    Secret.Builder builder = secret.toBuilder();
    if (builder.hasTlsCertificate() && builder.getTlsCertificate().hasPrivateKey()) {
      builder
          .getTlsCertificateBuilder()
          .setPrivateKey(DataSource.newBuilder().setInlineString(REDACTED));
    }
    if (builder.hasGenericSecret()) {
      builder
          .getGenericSecretBuilder()
          .setSecret(DataSource.newBuilder().setInlineString(REDACTED));
    }
    return builder.build();
  }
}
