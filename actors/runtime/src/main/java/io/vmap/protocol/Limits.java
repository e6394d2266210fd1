package io.vmap.protocol;

import com.typesafe.config.Config;

/**
 * Bounds on what one request may carry, the same at every door ({@code vmap.limits} in
 * reference.conf): the embedded client refuses a call over them, and a node refuses a batch from
 * another process over them, each with EINVAL naming the limit and the value.
 *
 * @param tagLength longest allocation tag, in chars (it is stored with the area)
 * @param requestIdLength longest caller-chosen request id, in chars
 * @param batchRequests most requests in one {@link ClientProtocol.Batch} a node handles
 * @param callRequests most requests in one {@code VmapClient.allocAll} or {@code freeAll} call
 */
public record Limits(int tagLength, int requestIdLength, int batchRequests, int callRequests) {

  public static final String PATH = "vmap.limits";

  public Limits {
    positive("tag-length", tagLength);
    positive("request-id-length", requestIdLength);
    positive("batch-requests", batchRequests);
    positive("call-requests", callRequests);
  }

  /** reference.conf's values. */
  public static Limits defaults() {
    return new Limits(256, 256, 10_000, 100_000);
  }

  /** {@code vmap.limits} of {@code config}; reference.conf's value for a key it lacks. */
  public static Limits from(Config config) {
    Limits d = defaults();
    return new Limits(
        get(config, "tag-length", d.tagLength),
        get(config, "request-id-length", d.requestIdLength),
        get(config, "batch-requests", d.batchRequests),
        get(config, "call-requests", d.callRequests));
  }

  /** Why {@code tag} is refused, or null. */
  public String tagRefusal(String tag) {
    return tag != null && tag.length() > tagLength ? over("tag", tag.length(), "characters", "tag-length", tagLength) : null;
  }

  /** Why {@code id} is refused, or null. */
  public String requestIdRefusal(String id) {
    return id != null && id.length() > requestIdLength
        ? over("request id", id.length(), "characters", "request-id-length", requestIdLength) : null;
  }

  /** Why a batch of {@code n} requests is refused, or null. */
  public String batchRefusal(int n) {
    return n > batchRequests ? over("batch", n, "requests", "batch-requests", batchRequests) : null;
  }

  /** Why a call ({@code allocAll}, {@code freeAll}) of {@code n} requests is refused, or null. */
  public String callRefusal(String call, int n) {
    return n > callRequests ? over(call, n, "requests", "call-requests", callRequests) : null;
  }

  /** {@code "tag: 300 characters, more than vmap.limits.tag-length = 256"}. */
  public static String over(String what, long value, String unit, String key, long limit) {
    return what + ": " + value + " " + unit + ", more than " + PATH + "." + key + " = " + limit;
  }

  private static int get(Config c, String key, int fallback) {
    String path = PATH + "." + key;
    return c.hasPath(path) ? c.getInt(path) : fallback;
  }

  private static void positive(String key, int v) {
    if (v < 1) throw new IllegalArgumentException(PATH + "." + key + ": " + v + " < 1");
  }
}
