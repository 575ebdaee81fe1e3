package org.dom0j.sim.guest;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.backend.XenbusState;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.sim.SimDomain;
import org.dom0j.xenstore.XenStore;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.dom0j.protocol.console.XenconsDescriptor.IN_CONS_OFFSET;
import static org.dom0j.protocol.console.XenconsDescriptor.IN_PROD_OFFSET;
import static org.dom0j.protocol.console.XenconsDescriptor.IN_SIZE;
import static org.dom0j.protocol.console.XenconsDescriptor.OUT_CONS_OFFSET;
import static org.dom0j.protocol.console.XenconsDescriptor.OUT_PROD_OFFSET;
import static org.dom0j.protocol.console.XenconsDescriptor.OUT_SIZE;
import static org.dom0j.protocol.console.XenconsDescriptor.inOffset;
import static org.dom0j.protocol.console.XenconsDescriptor.outOffset;

/**
 * A PV console frontend for simulated guests, doing on the {@code xencons_interface} page what Linux's
 * {@code drivers/tty/hvc/hvc_xen.c} does: output is copied into {@code out[]} as far as it fits, {@code out_prod}
 * published after the bytes, and the backend notified; input is taken from {@code in[]}, {@code in_cons} published,
 * and the backend notified.
 * <ul>
 *   <li>A secondary console ({@link #connect}): a xenbus device under {@code device/console/<devid>}; like
 *       hvc_xen's {@code xencons_connect_backend} it grants one page, allocates an unbound port, writes
 *       {@code ring-ref} and {@code port}, goes Initialised, and goes Connected once the backend is.</li>
 *   <li>The primary console ({@link #primary}): no xenbus handshake. On Xen the domain builder sets the page and
 *       port up and libxl writes {@code console/ring-ref} (the page's frame number) and {@code console/port} into the
 *       domain's directory; here the page is granted to the console backend's domain and {@code ring-ref} is that
 *       grant ref (see docs/writing-a-backend.md, "the primary console").</li>
 * </ul>
 * Not thread safe: one guest thread drives it.
 */
public final class SimConsoleFront implements AutoCloseable
{
    private final SimDomain guest;
    private final XenStore xs;
    private final String frontendPath;
    private final int frame;
    private final int ref;
    private final UnsafeBuffer page;
    private final EventChannels evtchn;
    private final int port;
    private final XenbusWaiter backendState;
    private final StringBuilder received = new StringBuilder();

    private SimConsoleFront(
        final SimDomain guest, final XenStore xs, final String frontendPath, final int backendDomid,
        final XenbusWaiter backendState)
    {
        this.guest = guest;
        this.xs = xs;
        this.frontendPath = frontendPath;
        this.backendState = backendState;
        frame = guest.allocatePage();
        page = guest.page(frame);
        ref = guest.grantAccess(backendDomid, frame, false);
        evtchn = guest.openEventChannels();
        port = evtchn.bindUnboundPort(backendDomid);
    }

    /**
     * Connects a secondary console as hvc_xen does.
     *
     * @param guest     the guest domain.
     * @param xs        the guest's own xenstore connection.
     * @param devid     the device id, e.g. "1".
     * @param timeoutMs how long to wait for the backend at each step.
     * @return the connected console.
     * @throws TimeoutException     when the backend does not reach InitWait or Connected in time.
     * @throws InterruptedException when interrupted.
     */
    public static SimConsoleFront connect(
        final SimDomain guest, final XenStore xs, final String devid, final long timeoutMs)
        throws TimeoutException, InterruptedException
    {
        final String fe = "/local/domain/" + guest.domid() + "/device/console/" + devid;
        final String be = xs.read(fe + "/backend");
        final int backendDomid = Integer.parseInt(xs.read(fe + "/backend-id"));
        final XenbusWaiter waiter = new XenbusWaiter(xs, be + "/state", "console-" + devid);
        SimConsoleFront front = null;
        try
        {
            waiter.await(s -> s == XenbusState.INIT_WAIT || s == XenbusState.CONNECTED, timeoutMs);
            front = new SimConsoleFront(guest, xs, fe, backendDomid, waiter);
            final SimConsoleFront f = front;
            xs.transaction(tx ->
            {
                tx.write(fe + "/ring-ref", Integer.toString(f.ref));
                tx.write(fe + "/port", Integer.toString(f.port));
                tx.write(fe + "/state", XenbusState.INITIALISED.wireValue());
                return null;
            });
            waiter.await(s -> s == XenbusState.CONNECTED, timeoutMs);
            xs.write(fe + "/state", XenbusState.CONNECTED.wireValue());
            return front;
        }
        catch (final TimeoutException | InterruptedException | RuntimeException ex)
        {
            if (null != front)
            {
                front.close();
            }
            else
            {
                waiter.close();
            }
            throw ex;
        }
    }

    /**
     * Sets up a domain's primary console: what the domain builder and libxl do for the page and port, and what the
     * guest kernel then uses.
     *
     * @param guest        the guest domain.
     * @param dom0Store    a privileged connection (the toolstack's): writes {@code /local/domain/<domid>/console}.
     * @param backendDomid the domain of the console daemon.
     * @return the console, usable at once (the backend picks it up when it notices the keys).
     */
    public static SimConsoleFront primary(final SimDomain guest, final XenStore dom0Store, final int backendDomid)
    {
        final String dir = "/local/domain/" + guest.domid() + "/console";
        final SimConsoleFront front = new SimConsoleFront(guest, null, dir, backendDomid, null);
        dom0Store.transaction(tx ->
        {
            tx.write(dir + "/type", "xenconsoled");
            tx.write(dir + "/output", "pty");
            tx.write(dir + "/ring-ref", Integer.toString(front.ref));
            tx.write(dir + "/port", Integer.toString(front.port));
            return null;
        });
        return front;
    }

    /**
     * @return the grant ref of the page.
     */
    public int ringRef()
    {
        return ref;
    }

    /**
     * @return the guest's port.
     */
    public int port()
    {
        return port;
    }

    /**
     * @return the shared page (tests play a hostile guest with it).
     */
    public UnsafeBuffer page()
    {
        return page;
    }

    /**
     * Copies as much as fits into {@code out[]}, publishes {@code out_prod} after the bytes and notifies the backend
     * if anything was written.
     *
     * @param data   the bytes.
     * @param offset where they start.
     * @param length how many.
     * @return how many were written (0 when the ring is full).
     */
    public int write(final byte[] data, final int offset, final int length)
    {
        final int cons = page.getIntVolatile(OUT_CONS_OFFSET);
        int prod = page.getInt(OUT_PROD_OFFSET);
        int sent = 0;
        while (sent < length && prod - cons < OUT_SIZE)
        {
            page.putByte(outOffset(prod++), data[offset + sent++]);
        }
        if (sent > 0)
        {
            // The bytes before out_prod (hvc_xen's wmb()).
            page.putIntRelease(OUT_PROD_OFFSET, prod);
            evtchn.notify(port);
        }
        return sent;
    }

    /**
     * Writes everything, waiting for the backend to make room.
     *
     * @param text      what to write (UTF-8).
     * @param timeoutMs how long at most.
     * @throws TimeoutException when the backend does not take it in time.
     */
    public void writeFully(final String text, final long timeoutMs) throws TimeoutException
    {
        final byte[] data = text.getBytes(StandardCharsets.UTF_8);
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        int done = 0;
        while (done < data.length)
        {
            done += write(data, done, data.length - done);
            if (done < data.length)
            {
                if (System.nanoTime() - deadline > 0)
                {
                    throw new TimeoutException("the console backend took " + done + " of " + data.length + " bytes");
                }
                awaitEvent(TimeUnit.MILLISECONDS.toNanos(10));
            }
        }
    }

    /**
     * Takes input from {@code in[]}, publishes {@code in_cons} and notifies the backend.
     *
     * @param dst    where to copy.
     * @param offset where in dst.
     * @param length at most this many.
     * @return how many bytes were read.
     * @throws IllegalStateException when {@code in_prod} is more than a ring ahead (the backend broke the protocol).
     */
    public int read(final byte[] dst, final int offset, final int length)
    {
        int cons = page.getInt(IN_CONS_OFFSET);
        final int prod = page.getIntVolatile(IN_PROD_OFFSET);
        if (Integer.compareUnsigned(prod - cons, IN_SIZE) > 0)
        {
            throw new IllegalStateException("in_prod " + Integer.toUnsignedString(prod) + " is more than " + IN_SIZE +
                " ahead of in_cons " + Integer.toUnsignedString(cons));
        }
        int n = 0;
        while (cons != prod && n < length)
        {
            dst[offset + n++] = page.getByte(inOffset(cons++));
        }
        if (n > 0)
        {
            // Done with the bytes before giving their space back.
            page.putIntRelease(IN_CONS_OFFSET, cons);
            evtchn.notify(port);
        }
        return n;
    }

    /**
     * Reads input until what was read so far (since the last successful call) contains {@code expected}.
     *
     * @param expected  the text to wait for.
     * @param timeoutMs how long at most.
     * @return everything read up to and including the first occurrence of expected.
     * @throws TimeoutException when it does not come in time; the message shows what came.
     */
    public String readUntil(final String expected, final long timeoutMs) throws TimeoutException
    {
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        final byte[] buffer = new byte[IN_SIZE];
        while (true)
        {
            final int at = received.indexOf(expected);
            if (at >= 0)
            {
                final String result = received.substring(0, at + expected.length());
                received.delete(0, at + expected.length());
                return result;
            }
            final int n = read(buffer, 0, buffer.length);
            if (n > 0)
            {
                received.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
            }
            else
            {
                if (System.nanoTime() - deadline > 0)
                {
                    throw new TimeoutException(
                        "console input did not bring '" + expected + "'; got '" + received + "'");
                }
                awaitEvent(TimeUnit.MILLISECONDS.toNanos(10));
            }
        }
    }

    /**
     * @param timeoutNanos how long at most.
     * @return whether the backend notified.
     */
    public boolean awaitEvent(final long timeoutNanos)
    {
        final int p = evtchn.pending(timeoutNanos);
        if (p >= 0)
        {
            evtchn.unmask(p);
            return true;
        }
        return false;
    }

    /**
     * Closes a secondary console as a frontend does on removal: Closing, wait for the backend, Closed.
     *
     * @param timeoutMs how long to wait for the backend.
     * @throws TimeoutException     when the backend does not close in time (resources are freed anyway).
     * @throws InterruptedException when interrupted.
     */
    public void disconnect(final long timeoutMs) throws TimeoutException, InterruptedException
    {
        try
        {
            if (null != backendState)
            {
                xs.write(frontendPath + "/state", XenbusState.CLOSING.wireValue());
                backendState.await(s -> s == XenbusState.CLOSING || s == XenbusState.CLOSED ||
                    s == XenbusState.UNKNOWN, timeoutMs);
                xs.write(frontendPath + "/state", XenbusState.CLOSED.wireValue());
            }
        }
        finally
        {
            close();
        }
    }

    /**
     * Closes the port, ends the grant when the backend has let go of the page, frees the page; no handshake.
     */
    @Override
    public void close()
    {
        if (null != backendState)
        {
            backendState.close();
        }
        evtchn.close();
        try
        {
            guest.endAccess(ref);
            guest.freePage(frame);
        }
        catch (final RuntimeException ex)
        {
            // Still mapped by the backend: the page stays granted, as a Linux guest leaks it to stay safe.
        }
    }
}
