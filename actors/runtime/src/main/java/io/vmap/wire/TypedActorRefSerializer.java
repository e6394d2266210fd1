package io.vmap.wire;

import akka.actor.ExtendedActorSystem;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorRefResolver;
import akka.actor.typed.javadsl.Adapter;
import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.KryoException;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;

/**
 * Writes a typed {@link ActorRef} as its serialization format (the full path with address and uid,
 * {@link ActorRefResolver#toSerializationFormat}) and reads it back with {@link
 * ActorRefResolver#resolveActorRef}, which gives a local ref on its own node and a remote ref
 * elsewhere. Stateless, so one instance serves every pooled Kryo.
 */
public final class TypedActorRefSerializer extends Serializer<ActorRef<?>> {

  private final ExtendedActorSystem system;
  // Looked up on first use: Akka creates serializers while the ActorSystem is starting, before
  // the typed view and its extensions can be asked for. A benign race: the extension is a
  // per-system singleton, so two threads find the same resolver.
  private volatile ActorRefResolver resolver;

  public TypedActorRefSerializer(ExtendedActorSystem system) {
    super(false, true); // no nulls (Kryo writes the null marker itself), immutable
    this.system = system;
  }

  @Override
  public void write(Kryo kryo, Output output, ActorRef<?> ref) {
    output.writeString(resolver().toSerializationFormat(ref));
  }

  @Override
  public ActorRef<?> read(Kryo kryo, Input input, Class<? extends ActorRef<?>> type) {
    String path = input.readString();
    try {
      return resolver().resolveActorRef(path);
    } catch (RuntimeException e) {
      // Malformed paths surface as e.g. NumberFormatException from the uid parser.
      throw new KryoException("cannot resolve typed actor ref " + path, e);
    }
  }

  private ActorRefResolver resolver() {
    ActorRefResolver r = resolver;
    if (r == null) {
      r = ActorRefResolver.get(Adapter.toTyped(system));
      resolver = r;
    }
    return r;
  }
}
