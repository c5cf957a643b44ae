package io.signalbox.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.google.common.net.HostAndPort;
import com.google.common.net.InetAddresses;
import io.signalbox.registry.Cidr;
import io.signalbox.registry.RegistrationValidator;
import io.signalbox.registry.UpstreamAddressPolicy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads a gateway settings file: YAML in, {@link GatewaySettings} out, or an {@link
 * InvalidSettingsException} that names the line or field. Files the settings refer to
 * (certificates, keys, JWKS) are read too, relative to the settings file's directory, so the result
 * is a complete value and the translator never touches the disk.
 */
public final class GatewaySettingsLoader {

  private static final ObjectMapper YAML =
      new ObjectMapper(new YAMLFactory())
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);
  private static final Pattern NAME = Pattern.compile("[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?");

  private static final long MIN_COUNTER_MEMORY = 1L << 10;
  private static final long MAX_COUNTER_MEMORY = 16L << 30;

  private GatewaySettingsLoader() {}

  /** The settings in {@code file}, and the files it refers to, as they are now. */
  public static Loaded load(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new InvalidSettingsException(
          "cannot read gateway settings file " + file + ": " + e.getMessage(), e);
    }
    Path base = file.toAbsolutePath().getParent();
    Set<Path> referenced = new LinkedHashSet<>();
    GatewaySettings settings = parse(text, base, referenced);
    return new Loaded(settings, referenced);
  }

  /** Parses settings YAML; relative paths resolve against {@code base}. */
  public static GatewaySettings parse(String yaml, Path base) {
    return parse(yaml, base, new LinkedHashSet<>());
  }

  /**
   * A loaded settings file.
   *
   * @param files every file the settings were read from besides the settings file itself
   */
  public record Loaded(GatewaySettings settings, Set<Path> files) {
    public Loaded {
      files = Set.copyOf(files);
    }
  }

  private static GatewaySettings parse(String yaml, Path base, Set<Path> referenced) {
    SettingsFileFormat format;
    try {
      format =
          yaml.isBlank()
              ? new SettingsFileFormat()
              : YAML.readValue(yaml, SettingsFileFormat.class);
    } catch (JsonMappingException e) {
      throw new InvalidSettingsException(
          where(e.getLocation()) + path(e) + ": " + e.getOriginalMessage(), e);
    } catch (JsonProcessingException e) {
      throw new InvalidSettingsException(
          where(e.getLocation()) + "not valid YAML: " + e.getOriginalMessage(), e);
    }
    if (format == null) {
      format = new SettingsFileFormat();
    }
    return new Reader(base, referenced).read(format);
  }

  private static String where(JsonLocation location) {
    return location == null || location.getLineNr() < 1
        ? ""
        : "line " + location.getLineNr() + ", column " + location.getColumnNr() + ": ";
  }

  private static String path(JsonMappingException e) {
    StringBuilder path = new StringBuilder();
    for (JsonMappingException.Reference reference : e.getPath()) {
      if (reference.getIndex() >= 0) {
        path.append('[').append(reference.getIndex()).append(']');
      } else if (reference.getFieldName() != null) {
        path.append(path.length() == 0 ? "" : ".").append(reference.getFieldName());
      }
    }
    return path.length() == 0 ? "settings" : path.toString();
  }

  /** Checks one parsed file; each check names the field it is about. */
  private static final class Reader {
    private final Path base;
    private final Set<Path> referenced;

    Reader(Path base, Set<Path> referenced) {
      this.base = base;
      this.referenced = referenced;
    }

    GatewaySettings read(SettingsFileFormat format) {
      GatewaySettings.Builder settings = GatewaySettings.builder();
      List<SettingsFileFormat.Listener> listeners =
          format.listeners == null ? List.of(defaultListener()) : format.listeners;
      check(!listeners.isEmpty(), "listeners", "at least one listener is required");
      Set<String> names = new HashSet<>();
      Set<String> ports = new HashSet<>();
      boolean anyHttps = false;
      for (int i = 0; i < listeners.size(); i++) {
        ListenerSpec listener = listener("listeners[" + i + "]", listeners.get(i));
        check(
            names.add(listener.name()),
            "listeners[" + i + "].name",
            "'" + listener.name() + "' is used twice");
        check(
            ports.add(listener.address() + ":" + listener.port()),
            "listeners[" + i + "].port",
            listener.port() + " is used by another listener");
        anyHttps |= listener.protocol() == ListenerSpec.Protocol.HTTPS;
        settings.listener(listener);
      }
      for (int i = 0; i < listeners.size(); i++) {
        check(
            !listeners.get(i).redirectToHttps || anyHttps,
            "listeners[" + i + "].redirectToHttps",
            "there is no https listener to redirect to");
      }
      Set<String> certificateNames = new HashSet<>();
      java.util.Map<String, String> certificateByHost = new java.util.HashMap<>();
      for (int i = 0; i < format.certificates.size(); i++) {
        check(
            format.certificates.get(i).services.isEmpty(),
            "certificates[" + i + "].services",
            "a certificate the listeners serve names hosts, not services; leave it out");
        CertificateSpec certificate =
            CertificateReader.read(
                "certificates[" + i + "]", format.certificates.get(i), true, this::file);
        check(
            certificateNames.add(certificate.name()),
            "certificates[" + i + "].name",
            "'" + certificate.name() + "' is used twice");
        // SNI picks one certificate per name; Envoy rejects a listener whose filter chains share a
        // server name.
        for (int h = 0; h < certificate.hosts().size(); h++) {
          String other =
              certificateByHost.putIfAbsent(certificate.hosts().get(h), certificate.name());
          check(
              other == null,
              "certificates[" + i + "].hosts[" + h + "]",
              "'"
                  + certificate.hosts().get(h)
                  + "' is already served by certificate '"
                  + other
                  + "'");
        }
        settings.certificate(certificate);
      }
      check(
          !anyHttps || !certificateNames.isEmpty(),
          "certificates",
          "an https listener needs at least one certificate");
      Set<String> providers = new HashSet<>();
      for (int i = 0; i < format.jwtProviders.size(); i++) {
        JwtProviderSpec provider =
            JwtProviderReader.read(
                "jwtProviders[" + i + "]",
                format.jwtProviders.get(i),
                this::file,
                GatewaySettingsLoader::readFile);
        check(
            providers.add(provider.name()),
            "jwtProviders[" + i + "].name",
            "'" + provider.name() + "' is used twice");
        settings.jwtProvider(provider);
      }
      if (format.defaults != null) {
        settings.defaults(PolicyDefaultsReader.read(format.defaults, providers));
      }
      if (format.limits != null) {
        settings.limits(LimitsReader.read(format.limits));
      }
      if (format.rateLimitService != null) {
        settings.rateLimitService(rateLimitService(format.rateLimitService));
      }
      settings.access(AccessSettingsReader.read(format.access));
      if (format.upstreams != null) {
        settings.upstreams(upstreams(format.upstreams));
        Set<String> clientNames = new HashSet<>();
        for (int i = 0; i < format.upstreams.clientCertificates.size(); i++) {
          String field = "upstreams.clientCertificates[" + i + "]";
          SettingsFileFormat.Certificate certificate = format.upstreams.clientCertificates.get(i);
          check(
              certificate.hosts.isEmpty(),
              field + ".hosts",
              "a client certificate serves no hosts; leave it out");
          // The edge presents it on behalf of whichever service names it, to back ends that may
          // trust it to have enforced the edge's policies: which services may is the operator's
          // grant, never a registrant's choice.
          check(
              !certificate.services.isEmpty(),
              field + ".services",
              "is required: the services whose registrations may name it ('*' for every service)");
          for (int s = 0; s < certificate.services.size(); s++) {
            String service = certificate.services.get(s);
            check(
                CertificateSpec.EVERY_SERVICE.equals(service)
                    || (service != null
                        && RegistrationValidator.SERVICE_NAME.matcher(service).matches()),
                field + ".services[" + s + "]",
                "'" + service + "' is not a service name or '*'");
          }
          CertificateSpec spec = CertificateReader.read(field, certificate, false, this::file);
          check(
              clientNames.add(spec.name()), field + ".name", "'" + spec.name() + "' is used twice");
          settings.upstreamClientCertificate(spec);
        }
      }
      if (format.accessLog != null) {
        settings.accessLog(Optional.of(accessLog(format.accessLog)));
      }
      if (format.sidecars != null) {
        check(
            InetAddresses.isInetAddress(format.sidecars.outboundAddress),
            "sidecars.outboundAddress",
            "'" + format.sidecars.outboundAddress + "' is not an IP address");
        check(
            format.sidecars.outboundPort >= 1 && format.sidecars.outboundPort <= 65535,
            "sidecars.outboundPort",
            format.sidecars.outboundPort + " is not a port (1-65535)");
        Duration validity =
            positiveDuration("sidecars.certificateValidity", format.sidecars.certificateValidity);
        check(
            validity.compareTo(Duration.ofSeconds(2)) >= 0
                && validity.compareTo(Duration.ofDays(30)) <= 0,
            "sidecars.certificateValidity",
            format.sidecars.certificateValidity + " is out of range 2s-720h");
        format.sidecars.outboundPorts.forEach(
            (service, port) -> {
              check(
                  RegistrationValidator.SERVICE_NAME.matcher(service).matches(),
                  "sidecars.outboundPorts",
                  "'" + service + "' is not a service name");
              check(
                  port != null && port >= 1 && port <= 65535,
                  "sidecars.outboundPorts." + service,
                  port + " is not a port (1-65535)");
            });
        java.util.Optional<String> domain = java.util.Optional.ofNullable(format.sidecars.domain);
        domain.ifPresent(
            name ->
                check(
                    SidecarSettings.isMeshDomain(name),
                    "sidecars.domain",
                    "'"
                        + name
                        + "' is not a DNS domain of lower-case labels, at most "
                        + SidecarSettings.MAX_MESH_DOMAIN_LENGTH
                        + " characters (e.g. svc.example.com)"));
        settings.sidecars(
            new SidecarSettings(
                format.sidecars.outboundAddress,
                format.sidecars.outboundPort,
                validity,
                format.sidecars.outboundPorts,
                java.util.Optional.ofNullable(format.sidecars.ca).map(this::meshCa),
                domain));
      }
      return settings.build();
    }

    private static AccessLogSpec accessLog(SettingsFileFormat.AccessLog format) {
      String path = format.path == null ? "" : format.path;
      String resolved =
          switch (path) {
            case "stdout" -> "/dev/stdout";
            case "stderr" -> "/dev/stderr";
            default -> path;
          };
      check(
          resolved.startsWith("/")
              && resolved.length() <= 1024
              && resolved.chars().noneMatch(c -> c < 0x20),
          "accessLog.path",
          "'" + path + "' is not stdout, stderr or an absolute path on Envoy's host");
      return new AccessLogSpec(resolved);
    }

    private static UpstreamAddressPolicy upstreams(SettingsFileFormat.Upstreams format) {
      List<Cidr> allowed = cidrs("upstreams.allowCidrs", format.allowCidrs);
      List<Cidr> denied = cidrs("upstreams.denyCidrs", format.denyCidrs);
      List<Integer> ports =
          format.denyPorts == null
              ? List.copyOf(UpstreamAddressPolicy.DEFAULT.deniedPorts())
              : format.denyPorts;
      for (int i = 0; i < ports.size(); i++) {
        Integer port = ports.get(i);
        check(
            port != null && port >= 1 && port <= 65535,
            "upstreams.denyPorts[" + i + "]",
            port + " is not a port (1-65535)");
      }
      return new UpstreamAddressPolicy(allowed, denied, Set.copyOf(ports));
    }

    private static List<Cidr> cidrs(String field, List<String> texts) {
      List<Cidr> ranges = new ArrayList<>();
      for (int i = 0; i < texts.size(); i++) {
        try {
          ranges.add(Cidr.parse(String.valueOf(texts.get(i))));
        } catch (IllegalArgumentException e) {
          throw new InvalidSettingsException(field + "[" + i + "]: " + e.getMessage());
        }
      }
      return ranges;
    }

    private static SettingsFileFormat.Listener defaultListener() {
      SettingsFileFormat.Listener listener = new SettingsFileFormat.Listener();
      listener.name = GatewaySettings.DEFAULT_LISTENER;
      listener.port = 10000;
      return listener;
    }

    private ListenerSpec listener(String field, SettingsFileFormat.Listener format) {
      String name = name(field + ".name", format.name);
      check(
          format.address != null && InetAddresses.isInetAddress(format.address),
          field + ".address",
          "'" + format.address + "' is not an IP address");
      check(format.port != null, field + ".port", "is required");
      check(
          format.port >= 1 && format.port <= 65535,
          field + ".port",
          format.port + " is out of range 1-65535");
      ListenerSpec.Protocol protocol =
          switch (String.valueOf(format.protocol).toLowerCase(Locale.ROOT)) {
            case "http" -> ListenerSpec.Protocol.HTTP;
            case "https" -> ListenerSpec.Protocol.HTTPS;
            default ->
                throw new InvalidSettingsException(
                    field + ".protocol: '" + format.protocol + "' is not http or https");
          };
      check(
          !format.redirectToHttps || protocol == ListenerSpec.Protocol.HTTP,
          field + ".redirectToHttps",
          "only a plaintext (http) listener can redirect to https");
      ListenerSpec.TlsVersion minTls = ListenerSpec.TlsVersion.TLS_1_2;
      if (format.minTlsVersion != null) {
        check(
            protocol == ListenerSpec.Protocol.HTTPS,
            field + ".minTlsVersion",
            "applies only to https listeners");
        minTls =
            switch (format.minTlsVersion.trim()) {
              case "1.2", "TLSv1.2", "TLS_1_2" -> ListenerSpec.TlsVersion.TLS_1_2;
              case "1.3", "TLSv1.3", "TLS_1_3" -> ListenerSpec.TlsVersion.TLS_1_3;
              default ->
                  throw new InvalidSettingsException(
                      field + ".minTlsVersion: '" + format.minTlsVersion + "' is not 1.2 or 1.3");
            };
      }
      return new ListenerSpec(
          name, format.address, format.port, protocol, format.redirectToHttps, minTls);
    }

    private static RateLimitServiceSpec rateLimitService(
        SettingsFileFormat.RateLimitService format) {
      Optional<RateLimitServiceSpec.HostAndPort> address = Optional.empty();
      if (format.address != null) {
        try {
          HostAndPort parsed = HostAndPort.fromString(format.address);
          check(
              parsed.hasPort(),
              "rateLimitService.address",
              "'" + format.address + "' needs a port");
          address =
              Optional.of(new RateLimitServiceSpec.HostAndPort(parsed.getHost(), parsed.getPort()));
        } catch (IllegalArgumentException e) {
          throw new InvalidSettingsException(
              "rateLimitService.address: '" + format.address + "' is not host:port");
        }
      }
      Duration timeout =
          format.timeout == null
              ? RateLimitServiceSpec.BUILT_IN.timeout()
              : positiveDuration("rateLimitService.timeout", format.timeout);
      long counterMemory = RateLimitServiceSpec.DEFAULT_COUNTER_MEMORY_BYTES;
      if (format.counterMemory != null) {
        try {
          counterMemory = ByteSizeText.parse(format.counterMemory);
        } catch (IllegalArgumentException e) {
          throw new InvalidSettingsException("rateLimitService.counterMemory: " + e.getMessage());
        }
        check(
            counterMemory >= MIN_COUNTER_MEMORY && counterMemory <= MAX_COUNTER_MEMORY,
            "rateLimitService.counterMemory",
            format.counterMemory + " is out of range 1KiB-16GiB");
      }
      return new RateLimitServiceSpec(address, timeout, counterMemory);
    }

    /**
     * The operator's mesh CA: a CA certificate and its key, checked to belong together. A failure
     * names the file, never the key's contents.
     */
    private io.signalbox.ca.CertificateAuthority meshCa(SettingsFileFormat.MeshCa format) {
      Path certificate = file("sidecars.ca.certificateFile", format.certificateFile);
      Path key = file("sidecars.ca.privateKeyFile", format.privateKeyFile);
      try {
        return io.signalbox.ca.CertificateAuthority.of(
            io.signalbox.ca.Pem.readCertificate(certificate),
            io.signalbox.ca.Pem.readPrivateKey(key),
            java.time.Clock.systemUTC());
      } catch (IllegalArgumentException e) {
        throw new InvalidSettingsException("sidecars.ca: " + e.getMessage());
      }
    }

    private Path file(String field, String path) {
      check(path != null && !path.isBlank(), field, "is required");
      Path resolved = base.resolve(path).normalize();
      check(
          Files.isRegularFile(resolved) && Files.isReadable(resolved),
          field,
          resolved + " is not a readable file");
      referenced.add(resolved);
      return resolved;
    }
  }

  // Shared by the readers of the file's sections.

  static String name(String field, String name) {
    check(
        name != null && NAME.matcher(name).matches(),
        field,
        "'" + name + "' must be 1-63 lowercase letters, digits, '-' and '_'");
    return name;
  }

  static String readFile(String field, Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new InvalidSettingsException(
          field + ": cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  static Duration positiveDuration(String field, String text) {
    check(text != null, field, "is required");
    Duration duration;
    try {
      duration = DurationText.parse(text);
    } catch (IllegalArgumentException e) {
      throw new InvalidSettingsException(field + ": " + e.getMessage());
    }
    check(!duration.isNegative() && !duration.isZero(), field, "must be positive");
    return duration;
  }

  static void check(boolean condition, String field, String message) {
    if (!condition) {
      throw new InvalidSettingsException(field + ": " + message);
    }
  }
}
