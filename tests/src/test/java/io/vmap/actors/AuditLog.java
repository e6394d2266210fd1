package io.vmap.actors;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * What is logged on {@code io.vmap.audit} (admin actions) while it is open: the logger is switched
 * to INFO (the tests' root level is WARN) and kept off the console; closing restores it.
 */
public final class AuditLog implements AutoCloseable {

  public static final String LOGGER = "io.vmap.audit";

  private final Logger logger = (Logger) LoggerFactory.getLogger(LOGGER);
  private final ListAppender<ILoggingEvent> appender = new ListAppender<>();
  private final Level levelBefore;
  private final boolean additiveBefore;

  private AuditLog() {
    levelBefore = logger.getLevel();
    additiveBefore = logger.isAdditive();
    appender.start();
    logger.addAppender(appender);
    logger.setLevel(Level.INFO);
    logger.setAdditive(false);
  }

  public static AuditLog capture() {
    return new AuditLog();
  }

  /** The formatted lines so far, oldest first. */
  public List<String> lines() {
    // The appender adds under its own lock (AppenderBase.doAppend is synchronized).
    synchronized (appender) {
      return appender.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    }
  }

  @Override
  public void close() {
    logger.detachAppender(appender);
    appender.stop();
    logger.setLevel(levelBefore);
    logger.setAdditive(additiveBefore);
  }
}
