package io.vmap.node;

/**
 * When a node's effects (replies, messages to other actors) may happen: only once the events
 * applied before them are stored. A volatile node runs them at once ({@link #IMMEDIATE}); a
 * durable one holds them until its journal has stored the batch holding those events ({@link
 * GroupCommit}).
 */
interface Durability {

  /**
   * Runs {@code onStored} once every event applied so far is stored, or {@code onFailed} if they
   * never will be (the journal failed).
   */
  void afterStored(Runnable onStored, Runnable onFailed);

  default void afterStored(Runnable onStored) {
    afterStored(onStored, () -> {});
  }

  /** A volatile node: nothing is stored, effects happen at once. */
  Durability IMMEDIATE = (onStored, onFailed) -> onStored.run();
}
