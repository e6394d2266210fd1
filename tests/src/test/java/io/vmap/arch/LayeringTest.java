package io.vmap.arch;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaAccess.Predicates.target;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.equivalentTo;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.core.domain.properties.HasName.Predicates.name;
import static com.tngtech.archunit.core.domain.properties.HasOwner.Predicates.With.owner;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import io.vmap.node.NodeSettings;
import io.vmap.node.VmapNode;
import java.util.List;

/**
 * The layering the module boundaries cannot show: vmap-runtime is one module holding the protocol,
 * the node, the purge coordinator, the client, the cluster wiring and the wire format, so Maven
 * would let any of them use any other. These rules say which may.
 *
 * <pre>
 *   tools      io.vmap.chaos, workload (vmap-testkit), cli, runner, http, bench, replay, torture (node-runner)
 *   assembly   io.vmap.client, io.vmap.cluster          (wire nodes and the coordinator together)
 *   actors     io.vmap.node, io.vmap.purge              (independent of each other)
 *   protocol   io.vmap.protocol, io.vmap.wire           (messages and their encoding; no actor)
 *   core       io.vmap.space, io.vmap.state (vmap-core: pure data structures, no Akka)
 * </pre>
 *
 * Every main class of every module is analysed (the tests' own classes are not).
 */
@AnalyzeClasses(packages = "io.vmap", importOptions = ImportOption.DoNotIncludeTests.class)
class LayeringTest {

  /**
   * No cycle between any two io.vmap packages, each package its own slice, sub-packages included
   * (io.vmap.http, io.vmap.http.api and io.vmap.http.ui are three). The wire registry names the
   * protocol's classes; the protocol knows nothing of the wire.
   */
  @ArchTest
  static final ArchRule noCyclesBetweenPackages =
      slices().matching("io.vmap.(**)").namingSlices("io.vmap.$1").should().beFreeOfCycles();

  @ArchTest
  static final ArchRule layers =
      layeredArchitecture().consideringOnlyDependenciesInLayers()
          .layer("core").definedBy("io.vmap.space..", "io.vmap.state..")
          .layer("protocol").definedBy("io.vmap.protocol..", "io.vmap.wire..")
          .layer("actors").definedBy("io.vmap.node..", "io.vmap.purge..")
          .layer("assembly").definedBy("io.vmap.client..", "io.vmap.cluster..")
          .layer("tools").definedBy("io.vmap.chaos..", "io.vmap.workload..", "io.vmap.cli..", "io.vmap.runner..",
              "io.vmap.http..", "io.vmap.bench..",
              "io.vmap.replay..", "io.vmap.torture..")
          .whereLayer("tools").mayNotBeAccessedByAnyLayer()
          .whereLayer("assembly").mayOnlyBeAccessedByLayers("tools")
          .whereLayer("actors").mayOnlyBeAccessedByLayers("assembly", "tools")
          .whereLayer("protocol").mayOnlyBeAccessedByLayers("actors", "assembly", "tools");

  @ArchTest
  static final ArchRule nodeDoesNotDependOnPurge =
      noClasses().that().resideInAPackage("io.vmap.node..")
          .should().dependOnClassesThat().resideInAPackage("io.vmap.purge..")
          .because("a node talks to the purge coordinator only through PurgeProtocol");

  @ArchTest
  static final ArchRule purgeDoesNotDependOnNode =
      noClasses().that().resideInAPackage("io.vmap.purge..")
          .should().dependOnClassesThat().resideInAPackage("io.vmap.node..")
          .because("the coordinator talks to nodes only through PurgeProtocol and the NodeDirectory");

  @ArchTest
  static final ArchRule protocolDependsOnNoActor =
      noClasses().that().resideInAPackage("io.vmap.protocol..")
          .should().dependOnClassesThat()
          .resideInAnyPackage("io.vmap.node..", "io.vmap.purge..", "io.vmap.client..", "io.vmap.cluster..")
          .because("the protocol is what actors share; it cannot know any of them");

  @ArchTest
  static final ArchRule wireKnowsOnlyTheMessages =
      noClasses().that().resideInAPackage("io.vmap.wire..")
          .should().dependOnClassesThat(resideInAPackage("io.vmap..")
              .and(not(resideInAnyPackage("io.vmap.wire..", "io.vmap.protocol..", "io.vmap.state..", "io.vmap.space.."))))
          .because("the wire format encodes the protocol's messages and the state they carry, nothing else");

  /**
   * The client (and the cluster wiring) start nodes with {@link VmapNode#create} and configure them
   * with {@link NodeSettings}; everything else of io.vmap.node is the node's own business.
   */
  @ArchTest
  static final ArchRule assemblyUsesOnlyTheNodesFactory =
      noClasses().that().resideInAnyPackage("io.vmap.client..", "io.vmap.cluster..")
          .should().dependOnClassesThat(resideInAPackage("io.vmap.node..")
              .and(not(equivalentTo(VmapNode.class))).and(not(equivalentTo(NodeSettings.class))))
          .orShould().accessTargetWhere(target(owner(equivalentTo(VmapNode.class))).and(target(not(name("create")))));

  /** vmap-core is plain Java: checked on the classes loaded from that module, whatever their package. */
  @ArchTest
  static void coreImportsNoAkka(JavaClasses all) {
    List<JavaClass> core = all.stream().filter(LayeringTest::fromVmapCore).toList();
    assertTrue(core.stream().anyMatch(c -> c.getName().equals("io.vmap.state.NodeState")),
        () -> "vmap-core's classes were not found among " + all.size());
    noClasses().should().dependOnClassesThat().resideInAnyPackage("akka..", "scala..", "com.typesafe..")
        .because("vmap-core has no Akka at all")
        .check(all.that(new com.tngtech.archunit.base.DescribedPredicate<JavaClass>("in vmap-core") {
          @Override
          public boolean test(JavaClass c) {
            return fromVmapCore(c);
          }
        }));
  }

  /** Loaded from actors/core's build output or from the vmap-core jar. */
  private static boolean fromVmapCore(JavaClass c) {
    return c.getSource().map(s -> {
      String uri = s.getUri().toString();
      return uri.contains("/actors/core/target/") || uri.contains("/vmap-core-");
    }).orElse(false);
  }
}
