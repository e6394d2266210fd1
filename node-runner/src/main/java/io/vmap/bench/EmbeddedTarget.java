package io.vmap.bench;

import io.vmap.client.AllocOptions;
import io.vmap.client.Vmap;
import io.vmap.client.VmapClient;
import io.vmap.client.VmapException;
import io.vmap.client.VmapSettings;
import io.vmap.protocol.ErrorCode;
import io.vmap.space.Geometry;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code --target embedded}: the actor allocator (volatile), {@link Vmap#start} (an ActorSystem of
 * its own), driven through the public {@link VmapClient}. Every call is an Akka ask: a temporary
 * reply actor, a timeout scheduled on the scheduler, the node's mailbox, the reply, and the
 * CompletionStage chain ({@code thenApply} to unwrap). All of that is part of what is measured.
 */
final class EmbeddedTarget implements BenchTarget {

  /** How request ids are made: the client's default (a random UUID) or a cheap counter. */
  enum RequestIds { UUID, COUNTER }

  private final Vmap vmap;
  private final VmapClient client;
  private final int nodes;
  private final RequestIds ids;
  private final AtomicLong nextId = new AtomicLong();
  private final String describe;

  EmbeddedTarget(VmapSettings settings, RequestIds ids) {
    this.vmap = Vmap.start(settings); // its own ActorSystem, configured by reference.conf / application.conf
    this.client = vmap.client();
    this.nodes = settings.geometry().nodes();
    this.ids = ids;
    Geometry g = settings.geometry();
    this.describe = "embedded: actor allocator (volatile), " + g.nodes() + " nodes, zone " + g.zone()
        + ", lazy-max-pages " + settings.lazyMaxPages() + ", release-batch " + settings.releaseBatch()
        + ", request ids " + ids.name().toLowerCase() + "; each call = Akka ask + CompletionStage";
  }

  @Override
  public String name() {
    return "embedded";
  }

  @Override
  public String describe() {
    return describe;
  }

  @Override
  public long page() {
    return client.geometry().page();
  }

  VmapClient client() {
    return client;
  }

  private String id() {
    return ids == RequestIds.COUNTER ? "b" + nextId.incrementAndGet() : null;
  }

  @Override
  public CompletionStage<Long> allocAsync(long size, long align, int hint) {
    AllocOptions o = AllocOptions.size(size).align(align);
    if (hint >= 0) o.home(hint % nodes);
    String id = id();
    if (id != null) o.requestId(id);
    return client.alloc(o).handle((a, ex) -> {
      if (ex == null) return a.start();
      VmapException v = vmapException(ex);
      if (v != null && (v.code() == ErrorCode.ENOSPC || v.code() == ErrorCode.EAGAIN)) return NONE;
      if (v != null && v.code() == ErrorCode.EINVAL) throw new IllegalArgumentException(v.reason());
      throw ex instanceof CompletionException c ? c : new CompletionException(ex);
    });
  }

  @Override
  public CompletionStage<ErrorCode> freeAsync(long addr) {
    String id = id();
    CompletionStage<?> f = id != null ? client.free(addr, id) : client.free(addr);
    return f.handle((area, ex) -> {
      if (ex == null) return null;
      VmapException v = vmapException(ex);
      if (v != null && (v.code() == ErrorCode.ENOENT || v.code() == ErrorCode.EINVAL)) return v.code();
      throw ex instanceof CompletionException c ? c : new CompletionException(ex);
    });
  }

  @Override
  public CompletionStage<Long> findAsync(long addr) {
    return client.find(addr).thenApply(o -> o.isPresent() ? o.get().start() : NONE);
  }

  @Override
  public CompletionStage<Integer> purgeAsync() {
    return client.purge();
  }

  @Override
  public CompletionStage<Void> quiesce() {
    return client.awaitPurgeIdle().thenApply(x -> null);
  }

  private static VmapException vmapException(Throwable t) {
    while (t instanceof CompletionException && t.getCause() != null) t = t.getCause();
    return t instanceof VmapException v ? v : null;
  }

  @Override
  public void close() {
    vmap.close(); // terminates the ActorSystem and waits for it
  }
}
