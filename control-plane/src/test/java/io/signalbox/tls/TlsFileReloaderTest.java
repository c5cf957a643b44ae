package io.signalbox.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.signalbox.ca.CertificateUsage;
import io.signalbox.ca.IssuedCertificate;
import io.signalbox.testing.TestCertificates;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The file reloading behind the control plane's ports and the SDK: what its key manager presents
 * after the files change. (The tests that rotate certificates through real connections are {@code
 * MutualTlsEndToEndTest} and {@code SdkMutualTlsTest}.)
 */
class TlsFileReloaderTest {

  private static final Duration INTERVAL = Duration.ofMillis(100);

  /** Long enough for several polls to have happened. */
  private static final Duration SEVERAL_POLLS = INTERVAL.multipliedBy(8);

  private final TestCertificates.Authority authority =
      TestCertificates.authority("reloader test CA");
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();

  @TempDir Path dir;

  private TlsFiles files;
  private TlsFileReloader reloader;

  @BeforeEach
  void startWithSerialOne() throws IOException {
    files = new TlsFiles(dir.resolve("cert.pem"), dir.resolve("key.pem"), dir.resolve("ca.pem"));
    Files.writeString(files.caBundle(), authority.certificatePem());
    issue(1).writeTo(files.certificateChain(), files.privateKey());
    reloader =
        TlsFileReloader.start(files, TlsFileReloader.PeerVerification.CHAIN, INTERVAL, scheduler);
  }

  @AfterEach
  void stop() {
    reloader.close();
    scheduler.shutdownNow();
  }

  @Test
  void aReplacedCertificateAndKeyArePresentedOnceTheyHeldStill() {
    assertThat(presentedSerial()).isEqualTo(1);

    issue(2).writeTo(files.certificateChain(), files.privateKey());

    await().atMost(Duration.ofSeconds(5)).until(() -> presentedSerial() == 2);
  }

  @Test
  void aCertificateWhoseKeyWasNotReplacedIsNeverPresentedTheLastGoodPairStays() {
    IssuedCertificate next = issue(2);

    TestCertificates.replace(files.certificateChain(), next.certificatePem());

    await()
        .during(SEVERAL_POLLS)
        .atMost(SEVERAL_POLLS.multipliedBy(3))
        .until(() -> presentedSerial() == 1);
    TestCertificates.replace(files.privateKey(), next.privateKeyPem());
    await().atMost(Duration.ofSeconds(5)).until(() -> presentedSerial() == 2);
  }

  @Test
  void filesThatDoNotParseAreNotAppliedTheLastGoodPairStays() {
    TestCertificates.replace(files.certificateChain(), "-----BEGIN CERTIFICATE-----\nnot base64\n");

    await()
        .during(SEVERAL_POLLS)
        .atMost(SEVERAL_POLLS.multipliedBy(3))
        .until(() -> presentedSerial() == 1);
  }

  @Test
  void startingWithAKeyThatIsNotTheCertificatesNamesTheKeyFileNotItsContents() {
    IssuedCertificate other = issue(3);
    TestCertificates.replace(files.privateKey(), other.privateKeyPem());

    assertThatThrownBy(
            () ->
                TlsFileReloader.start(
                    files, TlsFileReloader.PeerVerification.CHAIN, INTERVAL, scheduler))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            files.privateKey()
                + " is not the key of the certificate in "
                + files.certificateChain());
  }

  private IssuedCertificate issue(int serial) {
    return authority.issue(
        BigInteger.valueOf(serial), "CN=reloaded", List.of(CertificateUsage.SERVER), "localhost");
  }

  private long presentedSerial() {
    String alias = reloader.keyManager().chooseEngineServerAlias("EC", null, null);
    return reloader.keyManager().getCertificateChain(alias)[0].getSerialNumber().longValue();
  }
}
