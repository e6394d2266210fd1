package io.vmap.cluster;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.cluster.Member;
import akka.cluster.MemberStatus;
import akka.cluster.ddata.Key;
import akka.cluster.ddata.LWWRegister;
import akka.cluster.ddata.LWWRegisterKey;
import akka.cluster.ddata.SelfUniqueAddress;
import akka.cluster.ddata.typed.javadsl.DistributedData;
import akka.cluster.ddata.typed.javadsl.Replicator;
import akka.cluster.ddata.typed.javadsl.ReplicatorMessageAdapter;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.SelfUp;
import akka.cluster.typed.Subscribe;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * Decides, once this member is Up, whether its journal is the cluster's (DESIGN.md "Journal
 * identity"), before it hosts any vmap node. Completes {@code result} with the journal's identity,
 * or fails it with a {@link JournalMismatch} (another journal), or with an {@link
 * IllegalStateException} when it could not find out within the timeout; then stops.
 *
 * <p>The cluster's identity is a Distributed Data register that only the oldest member writes,
 * and only while it is empty: the oldest member reads its own journal's identity (creating one if
 * the journal has none: the cluster is forming) and publishes it. Every member, the oldest too,
 * then compares the register with its own journal's identity. A member whose journal has none, or
 * another one, is refused. Members other than the oldest open their journal only after the
 * identity is published, so on a brand-new shared H2 file one member creates the database and
 * its schema before the others connect.
 */
final class JournalIdentityCheck extends AbstractBehavior<JournalIdentityCheck.Msg> {

  /** The register holding the cluster's {@link JournalIdentity} line. */
  static final Key<LWWRegister<String>> KEY = LWWRegisterKey.create("vmap-journal-identity");

  private static final Duration ASK = Duration.ofSeconds(3);
  private static final Duration RETRY = Duration.ofMillis(500);

  interface Msg extends akka.actor.NoSerializationVerificationNeeded {}

  private record Up(SelfUp up) implements Msg {}

  private record RegisterRead(Replicator.GetResponse<LWWRegister<String>> response) implements Msg {}

  private record RegisterWritten(Replicator.UpdateResponse<LWWRegister<String>> response) implements Msg {}

  private record StoreFound(JournalIdentityStore.Found found) implements Msg {}

  private enum Signal implements Msg { STORE_STOPPED, RETRY, DEADLINE }

  /**
   * @param persistenceId where the identity is stored in this member's journal
   * @param journal where this member's journal is ({@link JournalIdentity#location}), for messages
   * @param timeout how long, once Up, before giving up finding out
   */
  static Behavior<Msg> create(String persistenceId, String journal, Duration timeout,
      CompletableFuture<JournalIdentity> result) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        DistributedData.<Msg, LWWRegister<String>>withReplicatorMessageAdapter(replicator ->
            new JournalIdentityCheck(ctx, timers, replicator, persistenceId, journal, timeout, result))));
  }

  private final TimerScheduler<Msg> timers;
  private final ReplicatorMessageAdapter<Msg, LWWRegister<String>> replicator;
  private final SelfUniqueAddress self;
  private final String persistenceId;
  private final String journal;
  private final Duration timeout;
  private final CompletableFuture<JournalIdentity> result;
  private final ActorRef<JournalIdentityStore.Found> found;

  /** The cluster's identity once read from the register, else null. */
  private JournalIdentity cluster;
  /** Whether {@link #own} was read from this member's journal (own may still be null: none). */
  private boolean ownRead;
  private JournalIdentity own;
  private ActorRef<JournalIdentityStore.Command> store;
  private int stores;
  /** Why it is not decided yet, for the timeout's message. */
  private String waitingFor = "this member to be Up";

  private JournalIdentityCheck(ActorContext<Msg> ctx, TimerScheduler<Msg> timers,
      ReplicatorMessageAdapter<Msg, LWWRegister<String>> replicator, String persistenceId, String journal,
      Duration timeout, CompletableFuture<JournalIdentity> result) {
    super(ctx);
    this.timers = timers;
    this.replicator = replicator;
    this.self = DistributedData.get(ctx.getSystem()).selfUniqueAddress();
    this.persistenceId = persistenceId;
    this.journal = journal;
    this.timeout = timeout;
    this.result = result;
    this.found = ctx.messageAdapter(JournalIdentityStore.Found.class, StoreFound::new);
    Cluster.get(ctx.getSystem()).subscriptions()
        .tell(Subscribe.create(ctx.messageAdapter(SelfUp.class, Up::new), SelfUp.class));
  }

  @Override
  public Receive<Msg> createReceive() {
    return newReceiveBuilder()
        .onMessage(Up.class, m -> {
          timers.startSingleTimer(Signal.DEADLINE, timeout);
          askRegister();
          return this;
        })
        .onMessage(RegisterRead.class, this::onRegisterRead)
        .onMessage(RegisterWritten.class, this::onRegisterWritten)
        .onMessage(StoreFound.class, this::onStoreFound)
        .onMessageEquals(Signal.STORE_STOPPED, () -> {
          store = null;
          ownRead = false;
          waitingFor = "this member's journal (" + journal + "), which could not be read or written: see the log";
          return retryLater();
        })
        .onMessageEquals(Signal.RETRY, () -> {
          askRegister();
          return this;
        })
        .onMessageEquals(Signal.DEADLINE, () -> finish(new IllegalStateException(
            "could not verify this member's journal within " + timeout.toSeconds() + " s (vmap.cluster.identity-timeout): "
                + "still waiting for " + waitingFor)))
        .build();
  }

  private void askRegister() {
    replicator.askGet(r -> new Replicator.Get<>(KEY, new Replicator.ReadMajority(ASK), r), RegisterRead::new);
  }

  private Behavior<Msg> onRegisterRead(RegisterRead m) {
    if (m.response() instanceof Replicator.GetSuccess<LWWRegister<String>> ok && !ok.dataValue().getValue().isEmpty()) {
      try {
        cluster = JournalIdentity.parse(ok.dataValue().getValue());
      } catch (IllegalArgumentException e) {
        return finish(new IllegalStateException("the cluster's journal identity is unreadable: " + e.getMessage()));
      }
      return needOwn();
    }
    if (m.response() instanceof Replicator.GetSuccess<?> || m.response() instanceof Replicator.NotFound<?>) {
      Member oldest = oldestUp();
      if (oldest != null && oldest.uniqueAddress().equals(self.uniqueAddress())) return needOwn();
      waitingFor = "the oldest member (" + (oldest == null ? "none Up" : oldest.address()) + ") to publish the journal's identity";
      return retryLater();
    }
    waitingFor = "the cluster's journal identity (reading it from a majority of members timed out)";
    return retryLater();
  }

  /** The oldest member that is Up in this member's view: the one that writes the register. */
  private Member oldestUp() {
    Member oldest = null;
    for (Member m : Cluster.get(getContext().getSystem()).state().getMembers()) {
      if (m.status() != MemberStatus.up()) continue;
      if (oldest == null || m.isOlderThan(oldest)) oldest = m;
    }
    return oldest;
  }

  private Behavior<Msg> needOwn() {
    if (ownRead) return decide();
    if (store == null) {
      store = getContext().spawn(JournalIdentityStore.create(persistenceId, found), "store-" + ++stores);
      getContext().watchWith(store, Signal.STORE_STOPPED);
    }
    waitingFor = "this member's journal (" + journal + ")";
    return this;
  }

  private Behavior<Msg> onStoreFound(StoreFound m) {
    ownRead = true;
    own = m.found().identity();
    return decide();
  }

  private Behavior<Msg> decide() {
    if (cluster != null) {
      if (own != null && own.id().equals(cluster.id())) return finish(own);
      return finish(new JournalMismatch(cluster, own, journal, persistenceId));
    }
    // This member is the oldest and the cluster has no identity yet: its journal's is the cluster's.
    if (own == null) {
      String member = Cluster.get(getContext().getSystem()).selfMember().address().toString();
      store.tell(new JournalIdentityStore.Create(JournalIdentity.create(member, journal), found));
      waitingFor = "this member's journal (" + journal + ") to store a new cluster identity";
      return this;
    }
    String line = own.line();
    replicator.askUpdate(
        r -> new Replicator.Update<>(KEY, LWWRegister.create(self, ""), new Replicator.WriteMajority(ASK), r,
            reg -> reg.getValue().isEmpty() ? reg.withValue(self, line) : reg),
        RegisterWritten::new);
    waitingFor = "the journal's identity to be published";
    return this;
  }

  private Behavior<Msg> onRegisterWritten(RegisterWritten m) {
    // Written (or written here and spreading by gossip after a timeout): read what the cluster holds,
    // which may be another member's identity if two wrote at once, and compare.
    if (m.response() instanceof Replicator.UpdateSuccess<?> || m.response() instanceof Replicator.UpdateTimeout<?>) {
      askRegister();
      return this;
    }
    waitingFor = "the journal's identity to be published (" + m.response() + ")";
    return retryLater();
  }

  private Behavior<Msg> retryLater() {
    timers.startSingleTimer(Signal.RETRY, RETRY);
    return this;
  }

  private Behavior<Msg> finish(JournalIdentity verified) {
    result.complete(verified);
    return Behaviors.stopped();
  }

  private Behavior<Msg> finish(RuntimeException refused) {
    result.completeExceptionally(refused);
    return Behaviors.stopped();
  }
}
