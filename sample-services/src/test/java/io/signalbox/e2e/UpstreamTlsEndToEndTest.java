package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import io.signalbox.ca.CertificateUsage;
import io.signalbox.ca.IssuedCertificate;
import io.signalbox.client.Routes;
import io.signalbox.client.ServiceRegistration;
import io.signalbox.config.CertificateSpec;
import io.signalbox.registry.v1.TrafficPolicy;
import io.signalbox.registry.v1.UpstreamTls;
import io.signalbox.security.SecretValue;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.HttpProbe;
import io.signalbox.testing.TestCertificates;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * TLS from Envoy to the instances ({@code traffic.tls}) through real Envoy: an HTTPS instance that
 * requires a client certificate is reached with the SNI and the operator's client certificate, and
 * Envoy refuses to talk to it when the CA, the name or the client certificate do not fit.
 */
@ExtendWith(EnvoyLogsOnFailure.class)
class UpstreamTlsEndToEndTest {

  private static final String SNI = "billing.internal";
  private static final Duration REACHES_ENVOY = Duration.ofSeconds(10);

  private final TestCertificates.Authority instanceCa =
      TestCertificates.authority("Billing instances CA");
  private final TestCertificates.Authority gatewayCa =
      TestCertificates.authority("Signalbox gateway clients CA");
  private final TestCertificates.Authority strangerCa = TestCertificates.authority("Stranger CA");
  private final HttpClient client = HttpClient.newHttpClient();

  @Test
  void anInstanceRequiringMutualTlsIsReachedAndAnythingThatDoesNotFitIsRefused() throws Exception {
    IssuedCertificate gatewayClient =
        gatewayCa.issue(
            BigInteger.valueOf(7),
            "CN=signalbox-gateway",
            List.of(CertificateUsage.CLIENT),
            "gateway.signalbox.test");
    HttpsServer instance = startInstance(instanceCa.issue(BigInteger.valueOf(11), SNI), gatewayCa);
    try (GatewayFixture gateway =
        GatewayFixture.startWithSettings(
            EnvoyProcess.XdsMode.DELTA,
            settings ->
                settings.upstreamClientCertificate(
                    new CertificateSpec(
                        "gateway",
                        List.of(),
                        Path.of("gateway.pem"),
                        Path.of("gateway.key"),
                        gatewayClient.certificatePem(),
                        SecretValue.of(gatewayClient.privateKeyPem()),
                        List.of("billing", "wrong-ca", "wrong-name"))))) {
      int port = instance.getAddress().getPort();
      register(gateway, "billing", port, tls(instanceCa).setClientCertificate("gateway"));
      register(gateway, "wrong-ca", port, tls(strangerCa).setClientCertificate("gateway"));
      register(
          gateway,
          "wrong-name",
          port,
          tls(instanceCa).addSubjectAltNames("ledger.internal").setClientCertificate("gateway"));
      register(gateway, "no-client-cert", port, tls(instanceCa));

      HttpProbe.awaitStatus(gateway.url("/billing/x"), 200, REACHES_ENVOY);
      HttpResponse<String> answer = get(gateway, "/billing/invoices");
      assertThat(answer.statusCode()).isEqualTo(200);
      assertThat(answer.body())
          .isEqualTo("sni=" + SNI + " client=CN=signalbox-gateway path=/billing/invoices");

      // The routes exist (404 would mean they do not); Envoy refuses the connection itself.
      for (String refused : List.of("wrong-ca", "wrong-name", "no-client-cert")) {
        HttpProbe.awaitStatus(gateway.url("/" + refused + "/x"), 503, REACHES_ENVOY);
      }
      String stats = gateway.envoy().adminGet("/stats?filter=ssl.fail_verify");
      assertThat(counter(stats, "cluster.svc-wrong-ca.ssl.fail_verify_error")).isPositive();
      assertThat(counter(stats, "cluster.svc-wrong-name.ssl.fail_verify_san")).isPositive();
      assertThat(counter(stats, "cluster.svc-billing.ssl.fail_verify_error")).isZero();
    } finally {
      instance.stop(0);
    }
  }

  private static UpstreamTls.Builder tls(TestCertificates.Authority trusted) {
    return UpstreamTls.newBuilder().setSni(SNI).setCaPem(trusted.certificatePem());
  }

  private static void register(
      GatewayFixture gateway, String service, int port, UpstreamTls.Builder tls) {
    gateway.register(
        ServiceRegistration.builder(service)
            .instance(service + "-1", "127.0.0.1", port)
            .route(Routes.prefix("/" + service))
            .traffic(TrafficPolicy.newBuilder().setTls(tls).build())
            .build());
  }

  private HttpResponse<String> get(GatewayFixture gateway, String path) throws Exception {
    return client.send(
        HttpRequest.newBuilder(URI.create(gateway.url(path)))
            .timeout(Duration.ofSeconds(5))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static long counter(String stats, String name) {
    return stats
        .lines()
        .filter(line -> line.startsWith(name + ": "))
        .mapToLong(line -> Long.parseLong(line.substring(name.length() + 2).trim()))
        .findFirst()
        .orElseThrow(() -> new AssertionError(name + " not in " + stats));
  }

  /**
   * An HTTPS instance that requires a client certificate from {@code clients} and answers with the
   * server name asked for, the client's subject and the path.
   */
  private static HttpsServer startInstance(
      IssuedCertificate serverCertificate, TestCertificates.Authority clients) throws Exception {
    char[] password = "test".toCharArray();
    KeyStore keys = KeyStore.getInstance("PKCS12");
    keys.load(null, null);
    keys.setKeyEntry(
        "server",
        serverCertificate.privateKey(),
        password,
        new Certificate[] {serverCertificate.certificate()});
    KeyManagerFactory keyManagers =
        KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keyManagers.init(keys, password);
    KeyStore trusted = KeyStore.getInstance("PKCS12");
    trusted.load(null, null);
    trusted.setCertificateEntry("clients", clients.certificate());
    TrustManagerFactory trustManagers =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trustManagers.init(trusted);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(keyManagers.getKeyManagers(), trustManagers.getTrustManagers(), null);

    HttpsServer server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
    server.setHttpsConfigurator(
        new HttpsConfigurator(context) {
          @Override
          public void configure(HttpsParameters parameters) {
            javax.net.ssl.SSLParameters ssl = context.getDefaultSSLParameters();
            ssl.setNeedClientAuth(true);
            parameters.setSSLParameters(ssl);
          }
        });
    server.createContext(
        "/",
        exchange -> {
          SSLSession session = ((HttpsExchange) exchange).getSSLSession();
          String sni =
              ((ExtendedSSLSession) session)
                  .getRequestedServerNames().stream()
                      .map(name -> ((SNIHostName) name).getAsciiName())
                      .findFirst()
                      .orElse("none");
          String subject;
          try {
            subject =
                ((java.security.cert.X509Certificate) session.getPeerCertificates()[0])
                    .getSubjectX500Principal()
                    .getName();
          } catch (SSLPeerUnverifiedException e) {
            subject = "none";
          }
          byte[] body =
              ("sni=" + sni + " client=" + subject + " path=" + exchange.getRequestURI().getPath())
                  .getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    server.start();
    return server;
  }
}
