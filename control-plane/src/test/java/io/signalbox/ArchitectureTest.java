package io.signalbox;

import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The package layering of docs/architecture.md: data flows one way (registry API → store →
 * translator → xds), each stage reads only the stages before it and the leaves (model, envoy
 * vocabulary, security, metrics), and no two packages depend on each other.
 */
class ArchitectureTest {

  private static final JavaClasses MAIN =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("io.signalbox");

  @Test
  void noTwoPackagesDependOnEachOther() {
    slices().matching("io.signalbox.(*)..").should().beFreeOfCycles().check(MAIN);
  }

  @Test
  void eachStageReadsOnlyTheStagesBeforeIt() {
    layeredArchitecture()
        .consideringOnlyDependenciesInLayers()
        .layer("model")
        .definedBy("io.signalbox.model..")
        .layer("envoy vocabulary")
        .definedBy("io.signalbox.envoy..")
        .layer("security")
        .definedBy("io.signalbox.security..")
        .layer("metrics")
        .definedBy("io.signalbox.metrics..")
        .layer("settings")
        .definedBy("io.signalbox.config..")
        .layer("registry API")
        .definedBy("io.signalbox.registry")
        .layer("store")
        .definedBy("io.signalbox.store..")
        .layer("translate")
        .definedBy("io.signalbox.translate..")
        .layer("rate-limit service")
        .definedBy("io.signalbox.ratelimit..")
        .layer("xds")
        .definedBy("io.signalbox.xds..")
        .layer("admin")
        .definedBy("io.signalbox.admin", "io.signalbox.cli..")
        .layer("assembly")
        .definedBy("io.signalbox.server..")
        .whereLayer("assembly")
        .mayOnlyBeAccessedByLayers("admin")
        .whereLayer("admin")
        .mayOnlyBeAccessedByLayers("assembly")
        .whereLayer("xds")
        .mayOnlyBeAccessedByLayers("admin", "assembly")
        .whereLayer("rate-limit service")
        .mayOnlyBeAccessedByLayers("translate", "assembly")
        .whereLayer("translate")
        .mayOnlyBeAccessedByLayers("xds", "metrics", "admin", "assembly")
        .whereLayer("store")
        .mayOnlyBeAccessedByLayers("registry API", "xds", "admin", "assembly")
        .whereLayer("registry API")
        .mayOnlyBeAccessedByLayers("settings", "assembly")
        .whereLayer("security")
        .mayNotAccessAnyLayer()
        .whereLayer("model")
        .mayNotAccessAnyLayer()
        .whereLayer("envoy vocabulary")
        .mayNotAccessAnyLayer()
        .whereLayer("metrics")
        .mayOnlyAccessLayers("envoy vocabulary")
        .check(MAIN);
  }
}
