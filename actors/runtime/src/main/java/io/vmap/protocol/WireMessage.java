package io.vmap.protocol;

/**
 * Every message, event and snapshot that may cross the network or be stored implements this. It is
 * bound to {@code io.vmap.wire.KryoSerializer} in {@code vmap-wire.conf} ({@code serialization-bindings}), so a
 * class missing from {@code io.vmap.wire.WireRegistry} fails loudly (in tests run with {@code
 * serialize-messages = on}) instead of falling back to Java serialization.
 *
 * <p>Implementing this is not enough: the concrete class (and every class it holds) needs an id in
 * {@code io.vmap.wire.WireRegistry}. Do not also implement {@code java.io.Serializable}: Akka binds that to Java
 * serialization, and two unrelated bindings make the choice ambiguous.
 */
public interface WireMessage {}
