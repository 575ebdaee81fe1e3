package org.dom0j.protocol.netif;

import org.agrona.MutableDirectBuffer;

/**
 * What every netif flyweight has: the buffer and offset it is wrapped on. Wrap one on a ring slot or on a private
 * copy of one, then read or write fields through the subclass's accessors.
 * <p>
 * Not thread safe; one per agent, held in a field.
 *
 * @param <T> the flyweight's own type, which {@link #wrap} returns.
 */
public abstract class NetifFlyweight<T extends NetifFlyweight<T>>
{
    /** The wrapped buffer. */
    protected MutableDirectBuffer buffer;
    /** Where the struct starts in it. */
    protected int offset;

    /**
     * @param buffer the buffer holding the struct.
     * @param offset where it starts.
     * @return this.
     */
    @SuppressWarnings("unchecked")
    public final T wrap(final MutableDirectBuffer buffer, final int offset)
    {
        this.buffer = buffer;
        this.offset = offset;
        return (T)this;
    }

    /**
     * @return the wrapped buffer.
     */
    public final MutableDirectBuffer buffer()
    {
        return buffer;
    }

    /**
     * @return the wrapped offset.
     */
    public final int offset()
    {
        return offset;
    }
}
