package io.vmap.wire;

/**
 * Every message, event and snapshot that may cross the network or be stored implements this. It is
 * bound to the Kryo serializer in {@code vmap-wire.conf}, so a class missing from
 * {@link WireRegistry} fails loudly (in tests run with {@code serialize-messages = on}) instead of
 * falling back to Java serialization.
 */
public interface WireMessage {}
