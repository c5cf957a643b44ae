package io.signalbox.bench;

import java.lang.management.ManagementFactory;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;

/** What a result was measured on, printed above every table. */
final class Jvm {

  private Jvm() {}

  static String describeHost() {
    Runtime runtime = Runtime.getRuntime();
    return String.format(
        "%s; %d CPUs; Java %s (%s); %s %s; bench JVM max heap %d MiB",
        ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME),
        runtime.availableProcessors(),
        System.getProperty("java.version"),
        System.getProperty("java.vm.name"),
        System.getProperty("os.name"),
        System.getProperty("os.version"),
        runtime.maxMemory() >> 20);
  }

  static long pid() {
    return ManagementFactory.getRuntimeMXBean().getPid();
  }

  static void sleepMs(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
