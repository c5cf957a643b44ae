package io.signalbox.ca;

import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import javax.security.auth.x500.X500Principal;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code signalbox ca}: a development certificate authority, so that a control plane, its Envoys,
 * services and operators can run mutual TLS on a laptop or in a test environment without openssl.
 * In production, use the organisation's PKI (SPIRE, cert-manager, Vault): the control plane only
 * needs PEM files.
 *
 * <p>Exit codes: 0 written, 1 a file could not be written, 2 refused (a flag's value, an existing
 * CA, no CA).
 */
@Command(
    name = "ca",
    mixinStandardHelpOptions = true,
    subcommands = {CaCommand.Init.class, CaCommand.Issue.class},
    description =
        "A development certificate authority for mutual TLS: makes a CA, then certificates for the control "
            + "plane, Envoys, services and operators.")
public final class CaCommand implements Callable<Integer> {

  static final int DEFAULT_CA_DAYS = 3650;
  static final int DEFAULT_CERTIFICATE_DAYS = 90;
  static final String DEFAULT_TRUST_DOMAIN = "signalbox.local";

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return 2;
  }

  @Command(
      name = "init",
      mixinStandardHelpOptions = true,
      description =
          "Makes a CA: DIR/ca.pem (its certificate, which every peer trusts) and DIR/ca-key.pem (its key, "
              + "owner-only). Refuses to replace an existing CA unless --force.")
  public static final class Init implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(
        names = "--dir",
        paramLabel = "DIR",
        required = true,
        description = "Directory of the CA (made owner-only if missing)")
    Path dir;

    @Option(
        names = "--trust-domain",
        paramLabel = "DOMAIN",
        defaultValue = DEFAULT_TRUST_DOMAIN,
        description =
            "SPIFFE trust domain the CA issues identities in; its certificates name spiffe://DOMAIN/... "
                + "Default: ${DEFAULT-VALUE}")
    String trustDomain;

    @Option(
        names = "--days",
        paramLabel = "N",
        defaultValue = "" + DEFAULT_CA_DAYS,
        description = "How long the CA is valid. Default: ${DEFAULT-VALUE} (10 years)")
    int days;

    @Option(
        names = "--force",
        description =
            "Replace an existing CA in DIR: every certificate the old one issued stops being trusted")
    boolean force;

    @Override
    public Integer call() {
      return run(
          spec,
          () -> {
            String domain = CaNames.trustDomain(trustDomain);
            CertificateAuthority authority =
                CertificateAuthority.create(
                    new X500Principal("CN=Signalbox development CA (" + domain + ")"),
                    Optional.of(domain),
                    days(days),
                    Clock.systemUTC());
            CaDirectory directory = new CaDirectory(dir);
            directory.writeAuthority(authority, force);
            PrintWriter out = spec.commandLine().getOut();
            out.printf(
                "Made a CA for trust domain %s, valid until %s:%n",
                domain, date(authority.notAfter()));
            out.printf(
                "  %s      its certificate: every peer trusts it (--tls-ca, SIGNALBOX_CA, Envoy's trusted_ca)%n",
                directory.caCertificate());
            out.printf(
                "  %s  its private key (owner-only): whoever reads it can issue any identity%n",
                directory.caKey());
            out.printf(
                "Issue certificates with: signalbox ca issue --dir %s --name NAME --identity spiffe://%s/...%n",
                dir, domain);
          });
    }
  }

  @Command(
      name = "issue",
      mixinStandardHelpOptions = true,
      description =
          "Issues DIR/NAME.pem and DIR/NAME-key.pem (owner-only), signed by the CA in DIR, for a TLS server "
              + "and client alike. Issuing a NAME again replaces its files: a control plane or SDK reading them picks "
              + "the new certificate up within seconds.")
  public static final class Issue implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(
        names = "--dir",
        paramLabel = "DIR",
        required = true,
        description =
            "Directory of the CA (signalbox ca " + "init); the certificate is written there too")
    Path dir;

    @Option(
        names = "--name",
        paramLabel = "NAME",
        required = true,
        description = "File name: writes NAME.pem and NAME-key.pem")
    String name;

    @Option(
        names = "--identity",
        paramLabel = "SPIFFE-ID",
        required = true,
        description =
            "The identity (URI SAN) in the CA's trust domain: spiffe://TD/service/NAME registers service "
                + "NAME, spiffe://TD/envoy/GROUP fetches node group GROUP, operators as the access policy maps them")
    String identity;

    @Option(
        names = "--dns",
        paramLabel = "HOST",
        description =
            "A DNS name the holder serves as (repeatable), e.g. signalbox.signalbox.local, which the "
                + "mutual-TLS Envoy bootstrap requires of the control plane")
    List<String> dnsNames = new ArrayList<>();

    @Option(
        names = "--ip",
        paramLabel = "ADDRESS",
        description =
            "An IP address the holder serves on (repeatable), e.g. 127.0.0.1 for SDKs that dial it")
    List<String> ipAddresses = new ArrayList<>();

    @Option(
        names = "--days",
        paramLabel = "N",
        defaultValue = "" + DEFAULT_CERTIFICATE_DAYS,
        description =
            "How long the certificate is valid (never beyond the CA). Default: ${DEFAULT-VALUE}")
    int days;

    @Override
    public Integer call() {
      return run(
          spec,
          () -> {
            String file = CaNames.fileName(name);
            CaDirectory directory = new CaDirectory(dir);
            CertificateAuthority authority = directory.readAuthority(Clock.systemUTC());
            CertificateRequest.Builder request =
                CertificateRequest.builder(file)
                    .uri(CaNames.identity(identity, authority.trustDomain().orElse(null)))
                    .usage(CertificateUsage.SERVER, CertificateUsage.CLIENT)
                    .validity(days(days));
            List<String> hosts = dnsNames.stream().map(CaNames::dnsName).toList();
            List<String> addresses = ipAddresses.stream().map(CaNames::ipAddress).toList();
            hosts.forEach(request::dnsName);
            addresses.forEach(request::ipAddress);
            IssuedCertificate issued;
            try {
              issued = authority.issue(request.build());
            } catch (IllegalStateException e) {
              throw new IllegalArgumentException(
                  directory.caCertificate()
                      + ": "
                      + e.getMessage()
                      + "; make a new CA with `signalbox ca init --force`",
                  e);
            }
            directory.writeIssued(file, issued);
            PrintWriter out = spec.commandLine().getOut();
            out.printf(
                "Issued %s%s, valid until %s:%n",
                identity,
                names(hosts, addresses),
                date(issued.certificate().getNotAfter().toInstant()));
            out.printf(
                "  %s      certificate (TLS server and client)%n", directory.certificate(file));
            out.printf("  %s  private key (owner-only)%n", directory.privateKey(file));
          });
    }

    private static String names(List<String> hosts, List<String> addresses) {
      List<String> all = new ArrayList<>();
      hosts.forEach(host -> all.add("DNS:" + host));
      addresses.forEach(address -> all.add("IP:" + address));
      return all.isEmpty() ? "" : " (" + String.join(", ", all) + ")";
    }
  }

  private static Duration days(int days) {
    if (days < 1) {
      throw new IllegalArgumentException("--days: must be at least 1, not " + days);
    }
    return Duration.ofDays(days);
  }

  private static String date(Instant instant) {
    return instant.truncatedTo(ChronoUnit.SECONDS).toString();
  }

  /**
   * Runs a subcommand's work: refusals exit 2, files that cannot be written 1, each with one line
   * on stderr.
   */
  private static int run(CommandSpec spec, Runnable work) {
    String command = spec.commandLine().getCommandSpec().qualifiedName();
    try {
      work.run();
      return 0;
    } catch (IllegalArgumentException e) {
      spec.commandLine().getErr().println(command + ": " + e.getMessage());
      return 2;
    } catch (UncheckedIOException e) {
      spec.commandLine().getErr().println(command + ": " + e.getMessage() + ": " + e.getCause());
      return 1;
    }
  }
}
