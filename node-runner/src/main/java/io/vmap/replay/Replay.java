package io.vmap.replay;

import io.vmap.client.AllocOptions;
import io.vmap.client.Allocation;
import io.vmap.client.Vmap;
import io.vmap.client.VmapClient;
import io.vmap.client.VmapException;
import io.vmap.client.VmapInfo;
import io.vmap.client.VmapSettings;
import io.vmap.state.Policy;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.space.Unsigned;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;

/**
 * The deterministic replay of DESIGN.md: one op per line against the real actors in this JVM,
 * waiting after each op until the purge coordinator is idle, one output line per op.
 *
 * <pre>
 * alloc SIZE [align=A] [vstart=X] [vend=Y] [node=K] [tag=T] [policy=normal|fail-fast]
 *                      -> 0x%016x | ENOSPC | EAGAIN | EINVAL reason
 * free ADDR            -> ok | ENOENT | EINVAL reason
 * find ADDR            -> 0x%016x 0x%016x | none
 * purge                -> purged N
 * info                 -> busy=N lazy=N free=BYTES
 * </pre>
 *
 * Numbers are decimal or 0x hex; {@code #} starts a comment; blank lines print nothing. A line that
 * is not one of these prints {@code EINVAL reason} and the replay goes on.
 */
public final class Replay implements AutoCloseable {

  private final Vmap vmap;
  private final VmapClient client;
  private long requests;

  public Replay(VmapSettings settings) {
    this.vmap = Vmap.start(settings);
    this.client = vmap.client();
  }

  public Geometry geometry() {
    return client.geometry();
  }

  /** Applies every line of {@code in}, printing one line per op to {@code out}. */
  public void run(BufferedReader in, PrintWriter out) throws IOException {
    String line;
    while ((line = in.readLine()) != null) {
      String result = apply(line);
      if (result != null) {
        out.println(result);
      }
    }
    out.flush();
  }

  /** One line in, its output line out (null for blank and comment lines). */
  public String apply(String line) {
    int hash = line.indexOf('#');
    String text = (hash >= 0 ? line.substring(0, hash) : line).trim();
    if (text.isEmpty()) return null;
    String[] w = text.split("\\s+");
    String out;
    try {
      out =
          switch (w[0]) {
            case "alloc" -> alloc(w);
            case "free" -> free(w);
            case "find" -> find(w);
            case "purge" -> purge(w);
            case "info" -> info(w);
            default -> "EINVAL unknown operation '" + w[0] + "'";
          };
    } catch (BadLine e) {
      out = "EINVAL " + e.getMessage();
    }
    // Quiescence: a free may have started a purge; the next op must see its outcome.
    await(client.awaitPurgeIdle());
    return out;
  }

  private String alloc(String[] w) {
    if (w.length < 2) throw new BadLine("alloc needs a size");
    AllocOptions o = AllocOptions.size(number(w[1], "size"));
    o.home(0);
    Long vstart = null;
    Long vend = null;
    for (int i = 2; i < w.length; i++) {
      int eq = w[i].indexOf('=');
      if (eq <= 0) throw new BadLine("expected key=value, got '" + w[i] + "'");
      String key = w[i].substring(0, eq);
      String val = w[i].substring(eq + 1);
      switch (key) {
        case "align" -> o.align(number(val, "align"));
        case "vstart" -> vstart = number(val, "vstart");
        case "vend" -> vend = number(val, "vend");
        case "node" -> o.home(node(val));
        case "tag" -> o.tag(val);
        case "policy" -> o.policy(policy(val));
        default -> throw new BadLine("unknown alloc option '" + key + "'");
      }
    }
    if (vstart != null || vend != null) {
      o.range(vstart != null ? vstart : client.geometry().vstart(), vend != null ? vend : client.geometry().vend());
    }
    o.requestId("replay-" + ++requests);
    try {
      Allocation a = await(client.alloc(o));
      return Unsigned.hex(a.start());
    } catch (VmapException e) {
      return errorLine(e);
    }
  }

  private String free(String[] w) {
    if (w.length != 2) throw new BadLine("free needs exactly one address");
    long addr = number(w[1], "address");
    try {
      await(client.free(addr, "replay-" + ++requests));
      return "ok";
    } catch (VmapException e) {
      return errorLine(e);
    }
  }

  private String find(String[] w) {
    if (w.length != 2) throw new BadLine("find needs exactly one address");
    Optional<Area> a = await(client.find(number(w[1], "address")));
    return a.map(x -> Unsigned.hex(x.start()) + " " + Unsigned.hex(x.end())).orElse("none");
  }

  private String purge(String[] w) {
    if (w.length != 1) throw new BadLine("purge takes no arguments");
    return "purged " + await(client.purge());
  }

  private String info(String[] w) {
    if (w.length != 1) throw new BadLine("info takes no arguments");
    VmapInfo i = await(client.info());
    return "busy=" + i.busy().size() + " lazy=" + i.lazy().size() + " free=" + Long.toUnsignedString(i.freeBytes());
  }

  /** ENOSPC, EAGAIN and ENOENT print bare; EINVAL (and anything else) with its reason. */
  private static String errorLine(VmapException e) {
    return switch (e.code()) {
      case ENOSPC, EAGAIN, ENOENT -> e.code().name();
      default -> e.code() + " " + e.reason();
    };
  }

  private int node(String val) {
    long k = number(val, "node");
    if (k < 0 || k >= client.geometry().nodes()) {
      throw new BadLine("node " + Long.toUnsignedString(k) + " is not in 0.." + (client.geometry().nodes() - 1));
    }
    return (int) k;
  }

  private static Policy policy(String val) {
    return switch (val) {
      case "normal" -> Policy.NORMAL;
      case "fail-fast" -> Policy.FAIL_FAST;
      default -> throw new BadLine("policy '" + val + "' is not normal or fail-fast");
    };
  }

  private static long number(String text, String what) {
    try {
      return Unsigned.parse(text);
    } catch (NumberFormatException e) {
      throw new BadLine(what + " '" + text + "' is not a decimal or 0x hex number");
    }
  }

  private static <T> T await(CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture().join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof VmapException v) throw v;
      throw e;
    }
  }

  @Override
  public void close() {
    vmap.close();
  }

  /** A line that cannot be parsed; the message is the EINVAL reason. */
  private static final class BadLine extends RuntimeException {
    private static final long serialVersionUID = 1L;

    BadLine(String reason) {
      super(reason, null, false, false);
    }
  }
}
