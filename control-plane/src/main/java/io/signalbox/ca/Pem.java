package io.signalbox.ca;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Base64;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

/** PEM text of certificates and private keys, as Envoy, grpc-java and openssl read them. */
public final class Pem {

  private Pem() {}

  public static String certificate(X509Certificate certificate) {
    try {
      return encode("CERTIFICATE", certificate.getEncoded());
    } catch (CertificateException e) {
      throw new IllegalStateException("a certificate this JVM made or parsed cannot be encoded", e);
    }
  }

  /**
   * Unencrypted PKCS#8 ({@code BEGIN PRIVATE KEY}): what BoringSSL, grpc-java and jetcd all read.
   */
  public static String privateKey(PrivateKey key) {
    return encode("PRIVATE KEY", key.getEncoded());
  }

  /**
   * The first certificate in a PEM file.
   *
   * @throws IllegalArgumentException naming the file, when it cannot be read or holds no
   *     certificate
   */
  public static X509Certificate readCertificate(Path file) {
    Object object = readFirst(file);
    if (!(object instanceof X509CertificateHolder holder)) {
      throw new IllegalArgumentException(file + " holds no PEM certificate");
    }
    try {
      return new JcaX509CertificateConverter().getCertificate(holder);
    } catch (CertificateException e) {
      throw new IllegalArgumentException(
          "cannot parse " + file + ": " + e.getClass().getSimpleName(), e);
    }
  }

  /**
   * The private key in a PEM file: PKCS#8, or a traditional {@code BEGIN EC/RSA PRIVATE KEY}. The
   * reason for a failure never quotes the file, which is a secret.
   *
   * @throws IllegalArgumentException naming the file, when it cannot be read or holds no
   *     unencrypted key
   */
  public static PrivateKey readPrivateKey(Path file) {
    Object object = readFirst(file);
    PrivateKeyInfo info =
        object instanceof PrivateKeyInfo key
            ? key
            : object instanceof PEMKeyPair pair ? pair.getPrivateKeyInfo() : null;
    if (info == null) {
      throw new IllegalArgumentException(file + " holds no unencrypted PEM private key");
    }
    try {
      return new JcaPEMKeyConverter().getPrivateKey(info);
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "cannot parse the key in " + file + ": " + e.getClass().getSimpleName(), e);
    }
  }

  private static Object readFirst(Path file) {
    try (Reader reader = Files.newBufferedReader(file, StandardCharsets.US_ASCII);
        PEMParser parser = new PEMParser(reader)) {
      return parser.readObject();
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException(
          "cannot read " + file + ": " + e.getClass().getSimpleName(), e);
    }
  }

  private static String encode(String type, byte[] der) {
    return "-----BEGIN "
        + type
        + "-----\n"
        + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END "
        + type
        + "-----\n";
  }
}
