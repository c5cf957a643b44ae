package io.signalbox.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.signalbox.registry.v1.Instance;
import io.signalbox.registry.v1.RegisterRequest;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * An instance is the gateway's next hop. By default it may not be the gateway's own host, cloud
 * metadata, an unspecified or multicast address, Envoy's admin port or the control plane; the
 * operator allows ranges explicitly.
 */
class UpstreamAddressPolicyTest {

  private static final Set<Integer> CONTROL_PLANE = Set.of(18000, 18001);

  private static RegistrationValidator validator(
      UpstreamAddressPolicy policy, Map<String, String> dns) {
    RegistrationRules rules =
        new DefaultRules() {
          @Override
          public UpstreamAddressPolicy upstreams() {
            return policy;
          }
        };
    HostResolver resolver =
        host ->
            Optional.ofNullable(
                dns.getOrDefault(
                    host, com.google.common.net.InetAddresses.isInetAddress(host) ? host : null));
    return new RegistrationValidator(resolver, rules, () -> CONTROL_PLANE);
  }

  private static RegisterRequest instanceAt(String host, int port) {
    return RegisterRequest.newBuilder()
        .setService("orders")
        .setInstance(Instance.newBuilder().setId("o1").setHost(host).setPort(port))
        .build();
  }

  @ParameterizedTest(name = "{0}:{1} is refused by default")
  @CsvSource({
    "127.0.0.1, 8080, 'instance.host: 127.0.0.1 is a loopback address'",
    "127.1.2.3, 8080, 'instance.host: 127.1.2.3 is a loopback address'",
    "::1, 8080, 'instance.host: ::1 is a loopback address'",
    "::ffff:127.0.0.1, 8080, 'instance.host: 127.0.0.1 is a loopback address'",
    "169.254.169.254, 80, 'instance.host: 169.254.169.254 is a link-local address (cloud metadata'",
    "0.0.0.0, 8080, 'instance.host: 0.0.0.0 is an unspecified address'",
    "224.0.0.1, 8080, 'instance.host: 224.0.0.1 is a multicast address'",
    "10.0.0.7, 9901, 'instance.port: 9901 is refused by upstreams.denyPorts [9901]'",
  })
  void specialAddressesAndEnvoysAdminPortAreRefusedNamingTheField(
      String host, int port, String message) {
    assertThatThrownBy(
            () ->
                validator(UpstreamAddressPolicy.DEFAULT, Map.of()).validate(instanceAt(host, port)))
        .isInstanceOf(InvalidFieldException.class)
        .hasMessageStartingWith(message);
  }

  @Test
  void aDnsNameIsJudgedByTheAddressItResolvesTo() {
    assertThatThrownBy(
            () ->
                validator(
                        UpstreamAddressPolicy.DEFAULT,
                        Map.of("metadata.internal", "169.254.169.254"))
                    .validate(instanceAt("metadata.internal", 80)))
        .hasMessageStartingWith("instance.host: 169.254.169.254 is a link-local address");
  }

  @Test
  void anOrdinaryAddressPasses() {
    assertThat(
            validator(UpstreamAddressPolicy.DEFAULT, Map.of())
                .validate(instanceAt("10.0.0.7", 8080))
                .instance()
                .address())
        .isEqualTo("10.0.0.7");
  }

  @Test
  void theOperatorMayAllowLoopbackButNeverTheControlPlaneItself() {
    UpstreamAddressPolicy development = UpstreamAddressPolicy.DEFAULT.allowing("127.0.0.0/8");

    assertThat(
            validator(development, Map.of())
                .validate(instanceAt("127.0.0.1", 8080))
                .instance()
                .address())
        .isEqualTo("127.0.0.1");
    assertThatThrownBy(
            () -> validator(development, Map.of()).validate(instanceAt("127.0.0.1", 18001)))
        .hasMessage("instance.port: 127.0.0.1:18001 is the control plane itself");
    assertThatThrownBy(
            () -> validator(development, Map.of()).validate(instanceAt("127.0.0.1", 9901)))
        .hasMessageStartingWith("instance.port: 9901 is refused");
  }

  @Test
  void operatorDeniedRangesAreRefused() {
    UpstreamAddressPolicy policy =
        new UpstreamAddressPolicy(
            java.util.List.of(), java.util.List.of(Cidr.parse("10.1.0.0/16")), Set.of());

    assertThatThrownBy(() -> validator(policy, Map.of()).validate(instanceAt("10.1.200.3", 8080)))
        .hasMessage(
            "instance.host: 10.1.200.3 is in 10.1.0.0/16, which upstreams.denyCidrs refuses");
    assertThat(validator(policy, Map.of()).validate(instanceAt("10.2.0.1", 9901))).isNotNull();
  }

  @ParameterizedTest(name = "{0} holds {1}: {2}")
  @CsvSource({
    "10.0.0.0/8, 10.255.1.1, true",
    "10.0.0.0/8, 11.0.0.1, false",
    "192.168.1.0/25, 192.168.1.127, true",
    "192.168.1.0/25, 192.168.1.128, false",
    "fe80::/10, fe80::1, true",
    "fe80::/10, 10.0.0.1, false",
    "0.0.0.0/0, 8.8.8.8, true",
  })
  void cidrRanges(String range, String address, boolean holds) {
    assertThat(Cidr.parse(range).contains(com.google.common.net.InetAddresses.forString(address)))
        .isEqualTo(holds);
  }
}
