package io.vmap.wire;

import akka.actor.ActorRef;
import akka.actor.ExtendedActorSystem;
import akka.serialization.Serialization;
import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.KryoException;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;

/**
 * Writes a classic {@link ActorRef} as {@link Serialization#serializedActorPath} (with the address
 * of the transport in use) and reads it with the provider's {@code resolveActorRef}, as Akka's own
 * serializers do. Stateless, so one instance serves every pooled Kryo.
 */
public final class ClassicActorRefSerializer extends Serializer<ActorRef> {

  private final ExtendedActorSystem system;

  public ClassicActorRefSerializer(ExtendedActorSystem system) {
    super(false, true);
    this.system = system;
  }

  @Override
  public void write(Kryo kryo, Output output, ActorRef ref) {
    output.writeString(Serialization.serializedActorPath(ref));
  }

  @Override
  public ActorRef read(Kryo kryo, Input input, Class<? extends ActorRef> type) {
    String path = input.readString();
    try {
      return system.provider().resolveActorRef(path);
    } catch (RuntimeException e) {
      throw new KryoException("cannot resolve actor ref " + path, e);
    }
  }
}
