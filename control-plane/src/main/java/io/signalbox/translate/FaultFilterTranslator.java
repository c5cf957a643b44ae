package io.signalbox.translate;

import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.extensions.filters.common.fault.v3.FaultDelay;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.FaultAbort;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.signalbox.config.GatewaySettings;
import io.signalbox.model.RouteAction;
import java.util.List;

/**
 * Fault injection for testing (envoy.filters.http.fault): a route's delays and aborts. The filter
 * is disabled in the chain and enabled by the routes that inject faults; it reads no {@code
 * x-envoy-fault-*} header from clients, since no header fault is configured.
 */
final class FaultFilterTranslator implements HttpFilterTranslator {

  @Override
  public List<HttpFilter> httpFilters(GatewaySettings settings) {
    return List.of(
        PerRouteFilters.disabledInChain(XdsNames.FAULT_FILTER, HTTPFault.getDefaultInstance()));
  }

  @Override
  public void patchRoute(PolicyRoute route, Route.Builder envoyRoute, GatewaySettings settings) {
    PerRouteFilters.forwarding(route)
        .flatMap(RouteAction.Forward::fault)
        .ifPresent(
            fault -> PerRouteFilters.enable(envoyRoute, XdsNames.FAULT_FILTER, httpFault(fault)));
  }

  private static HTTPFault httpFault(RouteAction.Fault fault) {
    HTTPFault.Builder config = HTTPFault.newBuilder();
    fault
        .delay()
        .ifPresent(
            delay ->
                config.setDelay(
                    FaultDelay.newBuilder()
                        .setFixedDelay(EnvoyProtos.duration(delay))
                        .setPercentage(percent(fault.delayPercent()))));
    if (fault.abortStatus() != 0) {
      config.setAbort(
          FaultAbort.newBuilder()
              .setHttpStatus(fault.abortStatus())
              .setPercentage(percent(fault.abortPercent())));
    }
    return config.build();
  }

  private static FractionalPercent percent(int percent) {
    return FractionalPercent.newBuilder()
        .setNumerator(percent)
        .setDenominator(FractionalPercent.DenominatorType.HUNDRED)
        .build();
  }
}
