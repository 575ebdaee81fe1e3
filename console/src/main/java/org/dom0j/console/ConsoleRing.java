package org.dom0j.console;

import org.agrona.concurrent.AtomicBuffer;

import static org.dom0j.protocol.console.XenconsDescriptor.IN_CONS_OFFSET;
import static org.dom0j.protocol.console.XenconsDescriptor.IN_PROD_OFFSET;
import static org.dom0j.protocol.console.XenconsDescriptor.IN_SIZE;
import static org.dom0j.protocol.console.XenconsDescriptor.OUT_CONS_OFFSET;
import static org.dom0j.protocol.console.XenconsDescriptor.OUT_PROD_OFFSET;
import static org.dom0j.protocol.console.XenconsDescriptor.OUT_SIZE;
import static org.dom0j.protocol.console.XenconsDescriptor.inOffset;
import static org.dom0j.protocol.console.XenconsDescriptor.outOffset;

/**
 * The backend's end of a console page ({@code struct xencons_interface}, see
 * {@link org.dom0j.protocol.console.XenconsDescriptor}): takes the guest's output out of {@code out[]} and puts input
 * into {@code in[]}.
 * <p>
 * The guest can write anything anywhere on the page at any time, so: the indices this end produces
 * ({@code out_cons}, {@code in_prod}) are kept privately and only published, never read back; the guest's indices
 * ({@code out_prod}, {@code in_cons}) are read once per call and checked — unread bytes beyond the ring's size
 * ({@code out_prod - out_cons > 2048}, or {@code in_prod - in_cons > 1024}, unsigned and wrapping at 2^32) are a
 * protocol violation, after which the ring does nothing more; bytes are copied out once into the caller's buffer.
 * <p>
 * Not thread safe: the agent serving the console owns it.
 */
public final class ConsoleRing
{
    private final AtomicBuffer page;
    private int outCons;
    private int inProd;
    private String violation;

    /**
     * Attaches to a page the guest may already have used (a reconnect, or a console daemon restarted): carries on
     * from the published {@code out_cons} and {@code in_prod}.
     *
     * @param page the mapped page, at least {@link org.dom0j.protocol.console.XenconsDescriptor#LENGTH} bytes.
     */
    public ConsoleRing(final AtomicBuffer page)
    {
        this.page = page;
        outCons = page.getIntVolatile(OUT_CONS_OFFSET);
        inProd = page.getIntVolatile(IN_PROD_OFFSET);
    }

    /**
     * Copies the guest's unread output out of {@code out[]} and publishes the new {@code out_cons}.
     *
     * @param dst    where to copy.
     * @param offset where in dst.
     * @param max    at most this many bytes.
     * @return bytes copied, 0 when there was nothing or the ring is disabled.
     */
    public int readOutput(final byte[] dst, final int offset, final int max)
    {
        if (violation != null)
        {
            return 0;
        }
        // Acquire: the bytes before out_prod are read after it (hvc_xen writes them before, with wmb()).
        final int prod = page.getIntVolatile(OUT_PROD_OFFSET);
        final int unread = prod - outCons;
        if (Integer.compareUnsigned(unread, OUT_SIZE) > 0)
        {
            disable("out_prod " + Integer.toUnsignedString(prod) + " - out_cons " + Integer.toUnsignedString(outCons) +
                " = " + Integer.toUnsignedString(unread) + " > " + OUT_SIZE);
            return 0;
        }
        final int n = Math.min(unread, max);
        for (int i = 0; i < n; i++)
        {
            dst[offset + i] = page.getByte(outOffset(outCons + i));
        }
        if (n > 0)
        {
            outCons += n;
            // Release: done with the bytes before the guest may reuse their space.
            page.putIntRelease(OUT_CONS_OFFSET, outCons);
        }
        return n;
    }

    /**
     * Copies input into the free part of {@code in[]} and publishes the new {@code in_prod}.
     *
     * @param src    the bytes.
     * @param offset where they start.
     * @param length how many are offered.
     * @return bytes taken (fewer when the ring is full; 0 when disabled).
     */
    public int writeInput(final byte[] src, final int offset, final int length)
    {
        if (violation != null)
        {
            return 0;
        }
        final int cons = page.getIntVolatile(IN_CONS_OFFSET);
        final int used = inProd - cons;
        if (Integer.compareUnsigned(used, IN_SIZE) > 0)
        {
            disable("in_prod " + Integer.toUnsignedString(inProd) + " - in_cons " + Integer.toUnsignedString(cons) +
                " = " + Integer.toUnsignedString(used) + " > " + IN_SIZE);
            return 0;
        }
        final int n = Math.min(IN_SIZE - used, length);
        for (int i = 0; i < n; i++)
        {
            page.putByte(inOffset(inProd + i), src[offset + i]);
        }
        if (n > 0)
        {
            inProd += n;
            // Release: the bytes before in_prod.
            page.putIntRelease(IN_PROD_OFFSET, inProd);
        }
        return n;
    }

    /**
     * @return the guest's output not yet read (0 when disabled or when the index is out of bounds).
     */
    public int unreadOutput()
    {
        final int unread = page.getIntVolatile(OUT_PROD_OFFSET) - outCons;
        return violation != null || Integer.compareUnsigned(unread, OUT_SIZE) > 0 ? 0 : unread;
    }

    /**
     * Stops the ring.
     *
     * @param reason why; the first stays.
     */
    public void disable(final String reason)
    {
        if (violation == null)
        {
            violation = reason;
        }
    }

    /**
     * @return why the ring was stopped, or null.
     */
    public String violation()
    {
        return violation;
    }
}
