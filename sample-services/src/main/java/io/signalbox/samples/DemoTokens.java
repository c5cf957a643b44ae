package io.signalbox.samples;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.text.ParseException;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The demo's token issuer: {@code init} makes an RSA signing key and publishes its public half as a
 * JWKS file for the gateway settings; {@code mint} signs a token with it. A stand-in for a real
 * identity provider, for the demo only.
 */
@Command(
    name = "demo-tokens",
    mixinStandardHelpOptions = true,
    subcommands = {DemoTokens.Init.class, DemoTokens.Mint.class},
    description = "Makes a demo JWT signing key and mints tokens signed with it.")
public final class DemoTokens {

  static final String SIGNING_KEY_FILE = "signing-key.jwk";
  static final String JWKS_FILE = "jwks.json";

  public static void main(String[] args) {
    System.exit(new CommandLine(new DemoTokens()).execute(args));
  }

  @Command(
      name = "init",
      mixinStandardHelpOptions = true,
      description =
          "Creates DIR/"
              + SIGNING_KEY_FILE
              + " (private, mode 600) and DIR/"
              + JWKS_FILE
              + " (public) unless they exist.")
  static final class Init implements Callable<Integer> {
    @Option(names = "--dir", required = true, description = "Directory for the key files.")
    Path dir;

    @Override
    public Integer call() throws IOException, JOSEException {
      Path keyFile = dir.resolve(SIGNING_KEY_FILE);
      Files.createDirectories(dir);
      if (!Files.exists(keyFile)) {
        RSAKey key =
            new RSAKeyGenerator(2048)
                .keyUse(KeyUse.SIGNATURE)
                .algorithm(JWSAlgorithm.RS256)
                .keyID("demo-" + UUID.randomUUID().toString().substring(0, 8))
                .generate();
        Files.writeString(keyFile, "", StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(keyFile, PosixFilePermissions.fromString("rw-------"));
        Files.writeString(keyFile, key.toJSONString(), StandardCharsets.UTF_8);
        Files.writeString(
            dir.resolve(JWKS_FILE),
            new JWKSet(key.toPublicJWK()).toString(),
            StandardCharsets.UTF_8);
      }
      System.out.println(dir.resolve(JWKS_FILE));
      return 0;
    }
  }

  @Command(name = "mint", mixinStandardHelpOptions = true, description = "Prints a signed JWT.")
  static final class Mint implements Callable<Integer> {
    @Option(
        names = "--dir",
        required = true,
        description = "Directory holding the signing key (see init).")
    Path dir;

    @Option(
        names = "--issuer",
        defaultValue = "https://demo.signalbox.local",
        description = "iss claim (default: ${DEFAULT-VALUE}).")
    String issuer;

    @Option(
        names = "--audience",
        defaultValue = "signalbox-demo",
        description = "aud claim (default: ${DEFAULT-VALUE}).")
    String audience;

    @Option(
        names = "--subject",
        defaultValue = "alice",
        description = "sub claim (default: ${DEFAULT-VALUE}).")
    String subject;

    @Option(
        names = "--scope",
        defaultValue = "",
        description = "Space-delimited scopes (default: none).")
    String scope;

    @Option(
        names = "--ttl-seconds",
        defaultValue = "3600",
        description = "Lifetime (default: ${DEFAULT-VALUE}).")
    long ttlSeconds;

    @Override
    public Integer call() throws IOException, ParseException, JOSEException {
      RSAKey key =
          RSAKey.parse(Files.readString(dir.resolve(SIGNING_KEY_FILE), StandardCharsets.UTF_8));
      Instant now = Instant.now();
      JWTClaimsSet.Builder claims =
          new JWTClaimsSet.Builder()
              .issuer(issuer)
              .audience(audience)
              .subject(subject)
              .issueTime(Date.from(now))
              .expirationTime(Date.from(now.plus(Duration.ofSeconds(ttlSeconds))));
      if (!scope.isBlank()) {
        claims.claim("scope", scope);
      }
      SignedJWT token =
          new SignedJWT(
              new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).build(),
              claims.build());
      token.sign(new RSASSASigner(key));
      System.out.println(token.serialize());
      return 0;
    }
  }
}
