package io.vmap.cluster;

import akka.event.Logging;
import akka.event.slf4j.Slf4jLogger;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import scala.PartialFunction;
import scala.runtime.AbstractPartialFunction;
import scala.runtime.BoxedUnit;

/**
 * vmap's Akka logger ({@code akka.loggers}): Akka's {@link Slf4jLogger}, except for frames a peer
 * sent that could not be deserialized. Artery drops such a frame and goes on serving (the
 * connection stays up), but logs an ERROR with a stack trace for every one; this logs the first
 * from each sender and then one line per sender and {@code vmap.wire.malformed-frame-log-interval}
 * counting the frames dropped since ({@link MalformedFrames}). Everything else passes through
 * unchanged. A subclass of Slf4jLogger (rather than a logger in front of one) so that events keep
 * their thread and timestamp and nothing else about logging changes.
 */
public final class DroppedFrameLogger extends Slf4jLogger {

  /** Config path of the interval between two lines about one sender's malformed frames. */
  public static final String INTERVAL_PATH = "vmap.wire.malformed-frame-log-interval";

  /** Artery's deserialization stage and the text of its error (Akka 2.8, akka.remote.artery.Codecs). */
  static final String DESERIALIZER = "akka.remote.artery.Deserializer";
  private static final Pattern FROM = Pattern.compile("^Failed to deserialize message from \\[([^\\]]*)\\]");

  /** Akka's marker for an error without a throwable (Logging.Error.NoCause, not reachable from Java). */
  private static final Throwable NO_CAUSE = new Logging.Error("", Object.class, "").cause();

  private final MalformedFrames frames;

  public DroppedFrameLogger() {
    com.typesafe.config.Config c = context().system().settings().config();
    Duration interval = c.hasPath(INTERVAL_PATH) ? c.getDuration(INTERVAL_PATH) : Duration.ofMinutes(1);
    this.frames = new MalformedFrames(interval);
  }

  /** Slf4jLogger's receive, with each event first passed through {@link #filter}. */
  @Override
  public PartialFunction<Object, BoxedUnit> receive() {
    PartialFunction<Object, BoxedUnit> slf4j = super.receive();
    return new AbstractPartialFunction<>() {
      @Override
      public boolean isDefinedAt(Object m) {
        return slf4j.isDefinedAt(m);
      }

      @Override
      public BoxedUnit apply(Object m) {
        Object out = filter(m);
        return out == null ? BoxedUnit.UNIT : slf4j.apply(out);
      }
    };
  }

  /** The event to log instead of {@code m} (itself for all but Artery's deserialization errors), or null. */
  private Object filter(Object m) {
    if (!(m instanceof Logging.Error e) || e.logClass() == null || !e.logClass().getName().equals(DESERIALIZER)) {
      return m;
    }
    Matcher from = FROM.matcher(String.valueOf(e.message()));
    if (!from.find()) return m;
    String sender = from.group(1);
    MalformedFrames.Verdict v = frames.offer(sender, System.nanoTime());
    if (!v.log()) return null;
    if (v.first()) {
      return rewritten(e, e.message() + " The frame was dropped; further malformed frames from ["
          + sender + "] are counted and logged once per interval (" + INTERVAL_PATH + ").", true);
    }
    return rewritten(e, "Dropped " + v.droppedSince() + " malformed frames from [" + sender + "] in the last "
        + TimeUnit.NANOSECONDS.toSeconds(v.sinceNanos()) + " s; the last: " + e.message() + " "
        + reason(e.cause()), false);
  }

  /** The same event with another message; the stack trace only on the first line about a sender. */
  private static Logging.Error rewritten(Logging.Error e, String message, boolean withCause) {
    return withCause
        ? new Logging.Error2(e.cause(), e.logSource(), e.logClass(), message, e.mdc())
        : new Logging.Error2(e.logSource(), e.logClass(), message, e.mdc());
  }

  private static String reason(Throwable t) {
    if (t == null || t == NO_CAUSE) return "";
    Throwable root = t;
    while (root.getCause() != null && root.getCause() != root && !(root instanceof io.vmap.wire.WireException)) {
      root = root.getCause();
    }
    return "(" + root + ")";
  }
}
