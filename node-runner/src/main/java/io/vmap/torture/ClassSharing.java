package io.vmap.torture;

import io.vmap.cli.Repository;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Class data sharing (AppCDS) for the {@code vmap node} processes a {@link LocalCluster} starts:
 * a member parses, verifies and links about 11,600 classes (Akka, Akka HTTP, H2, Slick, Jackson,
 * logback) before it serves, 7-8 s of CPU on a 2-CPU machine; mapped from an archive, the same
 * start takes about a third less (BENCHMARKS.md "Members start from a class archive"). The
 * multi-process tests start some forty members, most of them while others run.
 *
 * <p>On when the system property {@value #PROPERTY} names a directory (the tests' build sets it),
 * off otherwise. The first start asks for the archive of its JVM options and class path: one
 * training member (its own H2 journal in that directory, its own seed, free ports) runs until
 * {@code /health/ready} answers 200 and stops on SIGTERM, and the JVM writes the classes it loaded
 * ({@code -XX:ArchiveClassesAtExit}). Every start after that maps it. An archive is named by a hash
 * of the JDK, the JVM options and each jar's path, size and time, so a rebuilt jar gets a new one.
 *
 * <p>Why the class path is reordered: the JDK archives only classes from jars, and it refuses to
 * write an archive when a non-empty directory is on the class path. Members get the jars first,
 * then the directories (a test's classes), which is the same class path whenever no class is in
 * both. A training that fails leaves class sharing off for the rest of the JVM, with a line on
 * stderr saying why: it only ever costs speed, never a start.
 */
public final class ClassSharing {

  /** System property: the directory of the archives; unset, members start without one. */
  public static final String PROPERTY = "vmap.members.class-sharing";

  /** How long the training member may take to answer ready: a loaded 2-CPU machine. */
  private static final Duration TRAINING = Duration.ofMinutes(3);

  /** What a member start adds: JVM options, and the class path to use. */
  public record Launch(List<String> jvmOptions, String classPath) {}

  private static final Map<String, Launch> PREPARED = new HashMap<>();

  private ClassSharing() {}

  /**
   * The options and class path a member started with {@code jvmOptions} and {@code classPath}
   * should use: with an archive when {@value #PROPERTY} is set (trained now if there is none yet),
   * else no option and {@code classPath} unchanged.
   */
  public static Launch launch(List<String> jvmOptions, String classPath) {
    String dir = System.getProperty(PROPERTY);
    if (dir == null || dir.isBlank()) return new Launch(List.of(), classPath);
    return launch(Path.of(dir), jvmOptions, classPath, System.err);
  }

  /** As {@link #launch(List, String)}, with the archives in {@code dir}. */
  static synchronized Launch launch(Path dir, List<String> jvmOptions, String classPath, PrintStream log) {
    String key = dir + "\n" + jvmOptions + "\n" + classPath;
    Launch known = PREPARED.get(key);
    if (known != null) return known;
    List<String> jars = new ArrayList<>();
    List<String> rest = new ArrayList<>();
    for (String e : classPath.split(java.io.File.pathSeparator)) {
      if (e.isEmpty()) continue;
      (e.endsWith(".jar") && Files.isRegularFile(Path.of(e)) ? jars : rest).add(e);
    }
    List<String> all = new ArrayList<>(jars);
    all.addAll(rest);
    String reordered = String.join(java.io.File.pathSeparator, all);
    String jarsOnly = String.join(java.io.File.pathSeparator, jars);
    Launch result;
    try {
      Path archive = dir.resolve("members-" + hash(jvmOptions, jars) + ".jsa");
      if (!Files.isRegularFile(archive)) train(dir, archive, jvmOptions, jarsOnly, log);
      // -Xshare:auto (the default): an archive the JVM cannot use is ignored, with a warning
      // that -Xlog:cds turns off; the member then starts as it would without one.
      result = new Launch(List.of("-XX:SharedArchiveFile=" + archive, "-Xlog:cds=off", "-Xlog:cds+dynamic=off"), reordered);
    } catch (IOException | RuntimeException e) {
      log.println("class sharing off for this JVM's members: " + e);
      result = new Launch(List.of(), classPath);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while training the members' class archive", e);
    }
    PREPARED.put(key, result);
    return result;
  }

  private static void train(Path dir, Path archive, List<String> jvmOptions, String jarsOnly, PrintStream log)
      throws IOException, InterruptedException {
    Files.createDirectories(dir);
    Path work = Files.createTempDirectory(dir, "training-");
    int port = FreePorts.next();
    int http = FreePorts.next();
    Path config = work.resolve("training.conf");
    // The repository's one-machine configuration on an H2 journal of its own, seeded by itself: it
    // forms its own one-member cluster at once and touches nothing of any other.
    Files.writeString(config, "include file(\"" + Repository.root().resolve("cluster-config/three-local.conf") + "\")\n"
        + "akka.cluster.seed-nodes = [\"akka://vmap@127.0.0.1:" + port + "\"]\n");
    Path partial = work.resolve("archive.jsa");
    List<String> jvm = new ArrayList<>(jvmOptions);
    jvm.add("-XX:ArchiveClassesAtExit=" + partial);
    List<String> cmd = LocalCluster.nodeCommand(jvm, jarsOnly, config, port, http, work.resolve("data"));
    long t0 = System.nanoTime();
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(work.resolve("training.log").toFile()).start();
    try {
      StringBuilder last = new StringBuilder("no answer");
      if (!LocalCluster.awaitReady(p, http, TRAINING, last)) {
        throw new IOException(p.isAlive() ? "the training member was not ready within " + TRAINING + " (" + last + ")"
            : "the training member exited with status " + p.exitValue());
      }
      p.destroy(); // SIGTERM: a normal exit, when the JVM writes the archive
      if (!p.waitFor(TRAINING.toSeconds(), TimeUnit.SECONDS)) throw new IOException("the training member did not stop");
    } finally {
      p.destroyForcibly();
    }
    if (!Files.isRegularFile(partial) || Files.size(partial) == 0) {
      throw new IOException("the training member wrote no archive (" + work.resolve("training.log") + ")");
    }
    Files.move(partial, archive, StandardCopyOption.ATOMIC_MOVE);
    delete(work);
    // The archives of earlier builds (their jars have changed): 80-90 MB each.
    try (var old = Files.newDirectoryStream(dir, "members-*.jsa")) {
      for (Path o : old) if (!o.equals(archive)) Files.deleteIfExists(o);
    }
    log.printf("class archive for members: %s (%d MB, trained in %.1f s)%n", archive, Files.size(archive) >> 20,
        (System.nanoTime() - t0) / 1e9);
  }

  private static void delete(Path tree) throws IOException {
    try (var paths = Files.walk(tree)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
    }
  }

  private static String hash(List<String> jvmOptions, List<String> jars) throws IOException {
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      StringBuilder s = new StringBuilder(System.getProperty("java.home")).append('\n')
          .append(System.getProperty("java.vm.version")).append('\n').append(jvmOptions).append('\n');
      for (String j : jars) {
        Path p = Path.of(j);
        s.append(j).append(' ').append(Files.size(p)).append(' ').append(Files.getLastModifiedTime(p).toMillis()).append('\n');
      }
      return HexFormat.of().formatHex(d.digest(s.toString().getBytes(StandardCharsets.UTF_8))).substring(0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
