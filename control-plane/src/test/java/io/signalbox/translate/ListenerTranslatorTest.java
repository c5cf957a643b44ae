package io.signalbox.translate;

import static io.signalbox.translate.SecretTranslatorTest.certificate;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters.TlsProtocol;
import io.signalbox.config.CertificateSpec;
import io.signalbox.config.GatewaySettings;
import io.signalbox.config.ListenerSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * HTTPS listeners: TLS in front of the same connection manager, the certificate picked by SNI and
 * fetched over SDS.
 */
class ListenerTranslatorTest {

  private static final CertificateSpec A = certificate("a", "1", "a.example.test");
  private static final CertificateSpec B =
      certificate("b", "1", "b.example.test", "*.b.example.test");

  private static Listener translate(ListenerSpec listener, CertificateSpec... certificates) {
    GatewaySettings.Builder settings = GatewaySettings.builder().listener(listener);
    List.of(certificates).forEach(settings::certificate);
    List<Listener> listeners = new ListenerTranslator(List.of()).listeners(settings.build());
    assertThat(listeners).hasSize(1);
    return listeners.get(0);
  }

  private static CommonTlsContext tls(FilterChain chain) throws InvalidProtocolBufferException {
    assertThat(chain.getTransportSocket().getName()).isEqualTo(XdsNames.TLS_TRANSPORT_SOCKET);
    return chain
        .getTransportSocket()
        .getTypedConfig()
        .unpack(DownstreamTlsContext.class)
        .getCommonTlsContext();
  }

  private static List<String> secretNames(FilterChain chain) throws InvalidProtocolBufferException {
    return tls(chain).getTlsCertificateSdsSecretConfigsList().stream()
        .map(SdsSecretConfig::getName)
        .toList();
  }

  @Test
  void eachCertificateHasAFilterChainMatchingItsHostsBySni() throws Exception {
    Listener listener = translate(ListenerSpec.https("https", "0.0.0.0", 10443), A, B);

    assertThat(listener.getListenerFiltersList())
        .extracting(f -> f.getName())
        .containsExactly(XdsNames.TLS_INSPECTOR);
    assertThat(listener.getFilterChainsList())
        .extracting(FilterChain::getName)
        .containsExactly(
            XdsNames.certificateFilterChain("a"), XdsNames.certificateFilterChain("b"));
    FilterChain a = listener.getFilterChains(0);
    FilterChain b = listener.getFilterChains(1);
    assertThat(a.getFilterChainMatch().getServerNamesList()).containsExactly("a.example.test");
    assertThat(b.getFilterChainMatch().getServerNamesList())
        .containsExactly("*.b.example.test", "b.example.test");
    assertThat(secretNames(a)).containsExactly(XdsNames.certificateSecret("a"));
    assertThat(secretNames(b)).containsExactly(XdsNames.certificateSecret("b"));
    assertThat(tls(a).getTlsCertificateSdsSecretConfigs(0).getSdsConfig())
        .isEqualTo(XdsNames.adsConfigSource());
  }

  @Test
  void clientsWithoutAMatchingSniNameGetTheFirstCertificate() throws Exception {
    Listener listener = translate(ListenerSpec.https("https", "0.0.0.0", 10443), B, A);

    FilterChain fallback = listener.getDefaultFilterChain();
    assertThat(fallback.getName()).isEqualTo(XdsNames.defaultFilterChain("b"));
    assertThat(fallback.hasFilterChainMatch()).isFalse();
    assertThat(secretNames(fallback)).containsExactly(XdsNames.certificateSecret("b"));
  }

  @Test
  void everyChainServesTheGatewayRoutesThroughTheSameConnectionManager() throws Exception {
    Listener listener = translate(ListenerSpec.https("https", "0.0.0.0", 10443), A, B);

    List<FilterChain> chains = new java.util.ArrayList<>(listener.getFilterChainsList());
    chains.add(listener.getDefaultFilterChain());
    for (FilterChain chain : chains) {
      assertThat(chain.getFiltersList()).hasSize(1);
      HttpConnectionManager manager =
          chain.getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class);
      assertThat(manager.getRds().getRouteConfigName()).isEqualTo(XdsNames.GATEWAY_ROUTES);
      assertThat(manager.getStatPrefix()).isEqualTo("https");
      assertThat(manager.getCodecType()).isEqualTo(HttpConnectionManager.CodecType.AUTO);
      assertThat(tls(chain).getAlpnProtocolsList()).containsExactly("h2", "http/1.1");
    }
  }

  @Test
  void theMinimumTlsVersionIsTheListenersAndTheMaximumIsTls13() throws Exception {
    Listener lenient = translate(ListenerSpec.https("https", "0.0.0.0", 10443), A);
    Listener strict =
        translate(
            ListenerSpec.https("https", "0.0.0.0", 10443)
                .withMinTlsVersion(ListenerSpec.TlsVersion.TLS_1_3),
            A);

    assertThat(tls(lenient.getFilterChains(0)).getTlsParams().getTlsMinimumProtocolVersion())
        .isEqualTo(TlsProtocol.TLSv1_2);
    assertThat(tls(strict.getFilterChains(0)).getTlsParams().getTlsMinimumProtocolVersion())
        .isEqualTo(TlsProtocol.TLSv1_3);
    assertThat(tls(strict.getDefaultFilterChain()).getTlsParams().getTlsMinimumProtocolVersion())
        .isEqualTo(TlsProtocol.TLSv1_3);
    assertThat(tls(lenient.getFilterChains(0)).getTlsParams().getTlsMaximumProtocolVersion())
        .isEqualTo(TlsProtocol.TLSv1_3);
  }

  @Test
  void aHostInTwoCertificatesStaysWithTheFirstBecauseEnvoyRejectsDuplicateServerNames() {
    CertificateSpec overlapping = certificate("c", "1", "a.example.test", "c.example.test");
    CertificateSpec onlyDuplicates = certificate("d", "1", "a.example.test");

    Listener listener =
        translate(ListenerSpec.https("https", "0.0.0.0", 10443), A, overlapping, onlyDuplicates);

    assertThat(listener.getFilterChainsList())
        .extracting(FilterChain::getName)
        .containsExactly(
            XdsNames.certificateFilterChain("a"), XdsNames.certificateFilterChain("c"));
    assertThat(listener.getFilterChains(1).getFilterChainMatch().getServerNamesList())
        .containsExactly("c.example.test");
  }

  @Test
  void anHttpsListenerWithoutCertificatesCannotBeTranslated() {
    assertThatThrownBy(() -> translate(ListenerSpec.https("secure", "0.0.0.0", 10443)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("secure");
  }

  @Test
  void plaintextListenersStayPlaintextWhenCertificatesExist() {
    Listener listener = translate(ListenerSpec.http("http", "0.0.0.0", 10080), A);

    assertThat(listener.getListenerFiltersList()).isEmpty();
    assertThat(listener.getFilterChainsList()).hasSize(1);
    assertThat(listener.getFilterChains(0).hasTransportSocket()).isFalse();
    assertThat(listener.hasDefaultFilterChain()).isFalse();
  }
}
