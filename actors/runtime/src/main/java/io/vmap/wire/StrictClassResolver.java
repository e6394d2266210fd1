package io.vmap.wire;

import com.esotericsoftware.kryo.KryoException;
import com.esotericsoftware.kryo.Registration;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.esotericsoftware.kryo.util.DefaultClassResolver;

/**
 * Kryo's class resolver without its class-name path. Kryo's {@code DefaultClassResolver} reads a
 * class <em>name</em> from the stream when the id is its NAME marker and calls {@code Class.forName}
 * on it, even with registration required (Kryo 5.6.2: registration is checked only after the class
 * is loaded, and a registered class named by string is accepted). A peer or a tampered journal
 * could so make us load classes by name. Here an id is the only way a class is named: a name in
 * the stream fails before anything is looked up, and we never write one.
 */
final class StrictClassResolver extends DefaultClassResolver {

  @Override
  protected Registration readName(Input input) {
    throw new KryoException(
        "refusing a class named by string in the vmap wire format (at byte "
            + input.position()
            + "): only ids registered in io.vmap.wire.WireRegistry are accepted");
  }

  @Override
  @SuppressWarnings("rawtypes") // Kryo declares the raw type; an override must match it
  protected void writeName(Output output, Class type, Registration registration) {
    throw new KryoException(
        "refusing to write the class name of "
            + type.getName()
            + ": give it an id in io.vmap.wire.WireRegistry");
  }

  @Override
  @SuppressWarnings("rawtypes")
  public Registration registerImplicit(Class type) {
    // Unreachable with registration required; kept so a configuration slip cannot enable names.
    throw new IllegalArgumentException(
        "implicit registration is off for the vmap wire format: " + type.getName());
  }
}
