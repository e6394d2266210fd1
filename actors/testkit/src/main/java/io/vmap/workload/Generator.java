package io.vmap.workload;

import io.vmap.space.Geometry;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Chooses a client's next operation: a mixed alloc / free / find / purge workload whose shape is
 * its {@link Options} (how often each operation, the size bands, how many allocations are aligned,
 * confined to a window of zones, sent to an explicit home node, fail-fast or tagged). Frees take a
 * random area the client holds; finds aim inside one, or at a random address of the space.
 *
 * <p>Pure apart from the {@link LiveAreas} it takes frees from: the same options, random stream and
 * held areas give the same operations. {@code vmap demo}, {@code vmap chaos} / {@code vmap check}
 * ({@code ChaosWorkload}) and the bench targets' equivalence test draw from it.
 */
public final class Generator {

  /** How often each operation is chosen (fractions; the rest are allocations). */
  public record Mix(double purge, double find, double free) {
    public Mix {
      if (purge < 0 || find < 0 || free < 0 || purge + find + free > 1) {
        throw new IllegalArgumentException("mix " + purge + "/" + find + "/" + free + " is not a set of fractions of 1");
      }
    }
  }

  /** {@code weight} (relative to the other bands) of allocations get {@code minPages..maxPages} pages. */
  public record Band(double weight, long minPages, long maxPages) {
    public Band {
      if (!(weight > 0) || minPages < 1 || maxPages < minPages) {
        throw new IllegalArgumentException("band " + weight + " x " + minPages + ".." + maxPages + " pages");
      }
    }
  }

  /**
   * The workload's shape. Build with {@link #of} and the {@code with*} methods.
   *
   * @param findInside fraction of finds aimed inside a held area (the others: a random address)
   * @param fill when the held bytes exceed this fraction of the space, free rather than allocate
   * @param aligned fraction of allocations aligned to 2^k bytes, k uniform in
   *     {@code minAlignLog2..maxAlignLog2} (the others: the default, a page)
   * @param window fraction of allocations confined to {@code 1..windowZones} zones somewhere
   * @param explicitHome fraction of allocations sent to a random home node
   * @param failFast fraction of allocations with the fail-fast policy
   * @param tagged fraction of allocations tagged with one of {@code tags}
   */
  public record Options(Mix mix, List<Band> sizes, double findInside, double fill, double aligned,
      int minAlignLog2, int maxAlignLog2, double window, int windowZones, double explicitHome, double failFast,
      double tagged, List<String> tags) {

    public Options {
      Objects.requireNonNull(mix, "mix");
      sizes = List.copyOf(sizes);
      tags = List.copyOf(tags);
      if (sizes.isEmpty()) throw new IllegalArgumentException("no size band");
      if (aligned > 0 && (minAlignLog2 < 0 || maxAlignLog2 > 63 || maxAlignLog2 < minAlignLog2)) {
        throw new IllegalArgumentException("aligns 2^" + minAlignLog2 + "..2^" + maxAlignLog2);
      }
      if (window > 0 && windowZones < 1) throw new IllegalArgumentException("windows of " + windowZones + " zones");
      if (tagged > 0 && tags.isEmpty()) throw new IllegalArgumentException("tagged without tags");
    }

    /** {@code mix} with {@code sizes}; finds at random addresses; nothing aligned, windowed, homed or tagged. */
    public static Options of(Mix mix, List<Band> sizes) {
      return new Options(mix, sizes, 0, Double.POSITIVE_INFINITY, 0, 0, 0, 0, 0, 0, 0, 0, List.of());
    }

    public Options withFindInside(double f) {
      return new Options(mix, sizes, f, fill, aligned, minAlignLog2, maxAlignLog2, window, windowZones, explicitHome,
          failFast, tagged, tags);
    }

    public Options withFill(double f) {
      return new Options(mix, sizes, findInside, f, aligned, minAlignLog2, maxAlignLog2, window, windowZones,
          explicitHome, failFast, tagged, tags);
    }

    public Options withAligns(double fraction, int minLog2, int maxLog2) {
      return new Options(mix, sizes, findInside, fill, fraction, minLog2, maxLog2, window, windowZones, explicitHome,
          failFast, tagged, tags);
    }

    public Options withWindows(double fraction, int zones) {
      return new Options(mix, sizes, findInside, fill, aligned, minAlignLog2, maxAlignLog2, fraction, zones,
          explicitHome, failFast, tagged, tags);
    }

    public Options withExplicitHomes(double fraction) {
      return new Options(mix, sizes, findInside, fill, aligned, minAlignLog2, maxAlignLog2, window, windowZones,
          fraction, failFast, tagged, tags);
    }

    public Options withFailFast(double fraction) {
      return new Options(mix, sizes, findInside, fill, aligned, minAlignLog2, maxAlignLog2, window, windowZones,
          explicitHome, fraction, tagged, tags);
    }

    public Options withTags(double fraction, List<String> from) {
      return new Options(mix, sizes, findInside, fill, aligned, minAlignLog2, maxAlignLog2, window, windowZones,
          explicitHome, failFast, fraction, from);
    }
  }

  private final Geometry g;
  private final Options o;
  private final double totalWeight;

  public Generator(Geometry g, Options o) {
    this.g = g;
    this.o = o;
    this.totalWeight = o.sizes().stream().mapToDouble(Band::weight).sum();
  }

  public Options options() {
    return o;
  }

  /** The next operation of the client whose random stream is {@code rnd} and who holds {@code live}. */
  public Op next(SplittableRandom rnd, LiveAreas live) {
    Mix m = o.mix();
    double u = rnd.nextDouble();
    if (u < m.purge()) return new Op.Purge();
    u -= m.purge();
    if (u < m.find()) return find(rnd, live);
    u -= m.find();
    boolean full = live.bytes() > o.fill() * unsigned(g.spaceBytes());
    if (full || u < m.free()) {
      LiveAreas.Held h = live.take(rnd);
      if (h != null) return new Op.Free(h);
    }
    return alloc(rnd);
  }

  private Op.Find find(SplittableRandom rnd, LiveAreas live) {
    LiveAreas.Held h = chance(rnd, o.findInside()) ? live.pick(rnd) : null;
    if (h != null) {
      return new Op.Find(h.area().start() + Long.remainderUnsigned(rnd.nextLong(), h.area().size()), h.area());
    }
    return new Op.Find(g.vstart() + Long.remainderUnsigned(rnd.nextLong(), g.spaceBytes()), null);
  }

  private Op.Alloc alloc(SplittableRandom rnd) {
    long page = g.page();
    Band b = band(rnd);
    long pages = b.minPages() + (b.maxPages() > b.minPages() ? rnd.nextLong(b.maxPages() - b.minPages() + 1) : 0);
    long align = chance(rnd, o.aligned())
        ? 1L << (o.minAlignLog2() + rnd.nextInt(o.maxAlignLog2() - o.minAlignLog2() + 1)) : 0;
    Long lo = null;
    Long hi = null;
    if (chance(rnd, o.window())) {
      // 1..windowZones zones somewhere: usually owned by other nodes than the home (a walk).
      long first = g.firstZone() + rnd.nextLong(g.zoneCount());
      long last = Math.min(first + rnd.nextInt(o.windowZones()), g.lastZone());
      lo = g.zoneLo(first);
      hi = g.zoneHi(last);
      if (Long.compareUnsigned(pages * page, hi - lo) > 0) pages = 1;
    }
    Integer home = chance(rnd, o.explicitHome()) ? rnd.nextInt(g.nodes()) : null;
    boolean failFast = chance(rnd, o.failFast());
    String tag = chance(rnd, o.tagged()) ? o.tags().get(rnd.nextInt(o.tags().size())) : null;
    return new Op.Alloc(pages * page, align, lo, hi, home, tag, failFast);
  }

  private Band band(SplittableRandom rnd) {
    List<Band> bands = o.sizes();
    if (bands.size() == 1) return bands.get(0);
    double x = rnd.nextDouble() * totalWeight;
    for (Band b : bands) {
      if (x < b.weight()) return b;
      x -= b.weight();
    }
    return bands.get(bands.size() - 1);
  }

  /** True with probability {@code p}; draws nothing when {@code p} is 0. */
  private static boolean chance(SplittableRandom rnd, double p) {
    return p > 0 && rnd.nextDouble() < p;
  }

  private static double unsigned(long v) {
    return v >= 0 ? v : (v >>> 1) * 2.0 + (v & 1);
  }
}
