package io.signalbox.translate;

import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.core.v3.SubstitutionFormatString;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.signalbox.config.GatewaySettings;
import io.signalbox.config.ListenerSpec;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The operator's access log: one JSON line per request on every listener. The route name names the
 * service and its match, the cluster the service, the upstream host the instance. Headers are not
 * logged beyond the request id and user agent (they may carry tokens).
 */
final class AccessLogTranslator {

  static final String FILE_ACCESS_LOG = "envoy.access_loggers.file";

  private static final Map<String, String> FIELDS = new LinkedHashMap<>();

  static {
    FIELDS.put("start_time", "%START_TIME%");
    // The listener's name, filled in per listener.
    FIELDS.put("listener", "");
    FIELDS.put("method", "%REQ(:METHOD)%");
    FIELDS.put("path", "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%");
    FIELDS.put("authority", "%REQ(:AUTHORITY)%");
    FIELDS.put("status", "%RESPONSE_CODE%");
    FIELDS.put("flags", "%RESPONSE_FLAGS%");
    FIELDS.put("duration_ms", "%DURATION%");
    FIELDS.put("bytes_received", "%BYTES_RECEIVED%");
    FIELDS.put("bytes_sent", "%BYTES_SENT%");
    FIELDS.put("route", "%ROUTE_NAME%");
    FIELDS.put("cluster", "%UPSTREAM_CLUSTER%");
    FIELDS.put("upstream", "%UPSTREAM_HOST%");
    // The registered instance id, which each endpoint carries in its metadata (EndpointTranslator).
    FIELDS.put("instance", "%UPSTREAM_METADATA(signalbox:instance)%");
    FIELDS.put("client", "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%");
    FIELDS.put("request_id", "%REQ(X-REQUEST-ID)%");
    FIELDS.put("user_agent", "%REQ(USER-AGENT)%");
  }

  private AccessLogTranslator() {}

  static List<AccessLog> accessLogs(ListenerSpec listener, GatewaySettings settings) {
    return settings
        .accessLog()
        .map(
            log -> {
              Struct.Builder json = Struct.newBuilder();
              FIELDS.forEach(
                  (name, format) ->
                      json.putFields(
                          name,
                          Value.newBuilder()
                              .setStringValue(name.equals("listener") ? listener.name() : format)
                              .build()));
              return List.of(
                  AccessLog.newBuilder()
                      .setName(FILE_ACCESS_LOG)
                      .setTypedConfig(
                          Any.pack(
                              FileAccessLog.newBuilder()
                                  .setPath(log.path())
                                  .setLogFormat(
                                      SubstitutionFormatString.newBuilder().setJsonFormat(json))
                                  .build()))
                      .build());
            })
        .orElse(List.of());
  }
}
