package io.vmap.cluster;

import akka.actor.CoordinatedShutdown;

/**
 * Why a member leaves right after joining: its journal is not the cluster's, or it could not find
 * out ({@link JournalMismatch}). reference.conf maps this reason to exit status {@link #EXIT_STATUS}
 * ({@code akka.coordinated-shutdown.reason-overrides}), so a member run with {@code exit-jvm = on}
 * ends with it: a supervisor can tell a configuration to fix from a crash to restart.
 */
public enum JournalRefused implements CoordinatedShutdown.Reason {
  INSTANCE;

  /** EX_CONFIG of sysexits.h: a configuration error. */
  public static final int EXIT_STATUS = 78;
}
