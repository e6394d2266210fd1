package io.vmap.torture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launched members' class archive ({@link ClassSharing}): trained once, mapped by a member's
 * JVM (which {@code -Xshare:on} proves: with it the JVM refuses to start rather than run without
 * the archive), and never in the way of a start when it cannot be made.
 */
@Tag("integration")
class ClassSharingTest {

  @TempDir Path dir;

  /** The build's archive directory (tests/pom.xml), so the suite trains once whichever test runs first. */
  private static Path suiteDir() {
    String d = System.getProperty(ClassSharing.PROPERTY);
    assertTrue(d != null && !d.isBlank(), ClassSharing.PROPERTY + " is not set: tests/pom.xml sets it for Failsafe");
    return Path.of(d);
  }

  @Test
  void aMemberJvmMapsTheArchiveTrainedOnceAndTheJarsComeFirst() throws Exception {
    String classPath = LocalCluster.classPath();
    List<String> jvm = LocalCluster.Options.DEFAULT_JVM;
    ByteArrayOutputStream said = new ByteArrayOutputStream();
    PrintStream log = new PrintStream(said, true, StandardCharsets.UTF_8);

    ClassSharing.Launch launch = ClassSharing.launch(suiteDir(), jvm, classPath, log);
    assertEquals(1, launch.jvmOptions().stream().filter(o -> o.startsWith("-XX:SharedArchiveFile=")).count(),
        launch + "\n" + said);
    Path archive = Path.of(launch.jvmOptions().get(0).substring("-XX:SharedArchiveFile=".length()));
    assertTrue(Files.size(archive) > 0, archive.toString());
    // The same entries, the jars first (the JDK archives classes from jars only).
    List<String> given = entries(classPath);
    List<String> used = entries(launch.classPath());
    assertEquals(given.stream().sorted().toList(), used.stream().sorted().toList());
    int firstDir = used.size();
    for (int i = 0; i < used.size(); i++) if (!used.get(i).endsWith(".jar")) firstDir = Math.min(firstDir, i);
    for (int i = firstDir; i < used.size(); i++) assertTrue(!used.get(i).endsWith(".jar") || !Files.isRegularFile(Path.of(used.get(i))),
        "a jar after a directory: " + used);

    // Asked again: the same answer, no second training.
    assertSame(launch, ClassSharing.launch(suiteDir(), jvm, classPath, log));
    assertTrue(said.toString().lines().filter(l -> l.startsWith("class archive for members")).count() <= 1, said.toString());

    // A JVM with the member's options maps it, or does not start at all (-Xshare:on).
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvm);
    cmd.addAll(launch.jvmOptions());
    cmd.addAll(List.of("-Xshare:on", "-cp", launch.classPath(), "io.vmap.runner.VmapCommand", "--help"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), "a member JVM could not map " + archive + ":\n" + out);
  }

  @Test
  void aTrainingThatFailsLeavesTheStartAsItWas() {
    ByteArrayOutputStream said = new ByteArrayOutputStream();
    PrintStream log = new PrintStream(said, true, StandardCharsets.UTF_8);
    // An option no JVM accepts: the training member cannot start.
    List<String> jvm = List.of("-XX:+NoSuchOptionForTheTraining");
    String classPath = LocalCluster.classPath();

    ClassSharing.Launch launch = ClassSharing.launch(dir, jvm, classPath, log);
    assertEquals(List.of(), launch.jvmOptions());
    assertEquals(classPath, launch.classPath());
    assertTrue(said.toString().contains("class sharing off for this JVM's members")
        && said.toString().contains("exited with status"), said.toString());
  }

  @Test
  void withoutThePropertyNothingChanges() {
    String saved = System.clearProperty(ClassSharing.PROPERTY);
    try {
      ClassSharing.Launch launch = ClassSharing.launch(List.of("-Xmx64m"), "a.jar" + File.pathSeparator + "b");
      assertEquals(List.of(), launch.jvmOptions());
      assertEquals("a.jar" + File.pathSeparator + "b", launch.classPath());
    } finally {
      if (saved != null) System.setProperty(ClassSharing.PROPERTY, saved);
    }
  }

  private static List<String> entries(String classPath) {
    return Arrays.stream(classPath.split(File.pathSeparator)).filter(e -> !e.isEmpty()).toList();
  }
}
