package org.dom0j.xenstore;

import org.agrona.MutableDirectBuffer;

import java.nio.ByteOrder;

import static org.dom0j.xenstore.XsWireDescriptor.HEADER_LENGTH;
import static org.dom0j.xenstore.XsWireDescriptor.LENGTH_OFFSET;
import static org.dom0j.xenstore.XsWireDescriptor.REQ_ID_OFFSET;
import static org.dom0j.xenstore.XsWireDescriptor.TX_ID_OFFSET;
import static org.dom0j.xenstore.XsWireDescriptor.TYPE_OFFSET;

/**
 * Reads and writes the 16-byte xs_wire header (see {@link XsWireDescriptor}) in place, over any Agrona buffer.
 * Wrap it once and reuse it; it allocates nothing. Not thread-safe: one owner thread per instance.
 */
public final class XsHeaderFlyweight
{
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private MutableDirectBuffer buffer;
    private int offset;

    /**
     * @param buffer the buffer holding the message.
     * @param offset where the header starts.
     * @return this.
     */
    public XsHeaderFlyweight wrap(final MutableDirectBuffer buffer, final int offset)
    {
        this.buffer = buffer;
        this.offset = offset;
        return this;
    }

    /**
     * @return the raw {@code type} field (compare with {@link XsMessageType#code()}).
     */
    public int type()
    {
        return buffer.getInt(offset + TYPE_OFFSET, LE);
    }

    /**
     * @param type the {@code type} field.
     * @return this.
     */
    public XsHeaderFlyweight type(final int type)
    {
        buffer.putInt(offset + TYPE_OFFSET, type, LE);
        return this;
    }

    /**
     * @return the {@code req_id} field.
     */
    public int reqId()
    {
        return buffer.getInt(offset + REQ_ID_OFFSET, LE);
    }

    /**
     * @param reqId the {@code req_id} field.
     * @return this.
     */
    public XsHeaderFlyweight reqId(final int reqId)
    {
        buffer.putInt(offset + REQ_ID_OFFSET, reqId, LE);
        return this;
    }

    /**
     * @return the {@code tx_id} field.
     */
    public int txId()
    {
        return buffer.getInt(offset + TX_ID_OFFSET, LE);
    }

    /**
     * @param txId the {@code tx_id} field.
     * @return this.
     */
    public XsHeaderFlyweight txId(final int txId)
    {
        buffer.putInt(offset + TX_ID_OFFSET, txId, LE);
        return this;
    }

    /**
     * @return the {@code len} field as an unsigned value (a hostile peer may send more than 2^31).
     */
    public long length()
    {
        return buffer.getInt(offset + LENGTH_OFFSET, LE) & 0xFFFF_FFFFL;
    }

    /**
     * @param length the {@code len} field.
     * @return this.
     */
    public XsHeaderFlyweight length(final int length)
    {
        buffer.putInt(offset + LENGTH_OFFSET, length, LE);
        return this;
    }

    /**
     * @return the offset of the payload in the wrapped buffer.
     */
    public int payloadOffset()
    {
        return offset + HEADER_LENGTH;
    }
}
