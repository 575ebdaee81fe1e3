package org.dom0j.netback;

import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.CountersManager;
import org.dom0j.common.Errno;
import org.dom0j.linux.Linux;
import org.dom0j.linux.PollFd;
import org.dom0j.linux.TapDevice;

import java.nio.ByteBuffer;

/**
 * The switch's uplink into dom0's own network stack: a TAP interface (e.g. {@code dom0j0}) that dom0 addresses,
 * bridges or routes like any NIC. Frames the switch sends to it are written with their virtio-net header, so that
 * checksum offload and GSO cross whole; frames dom0 sends out of it are read by a thread of its own and switched to
 * the guests (learned addresses behind it included).
 * <p>
 * <b>Threads</b>: {@link #deliver} from any agent (each with scratch of its own); the reader thread
 * ({@code netback-uplink-NAME}). No allocation per frame.
 */
final class TapUplink extends Uplink
{
    private static final int POLL_MILLIS = 100;
    private static final int MAX_FRAME = 65536 + 18;

    private final TapDevice tap;
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);
    private Thread reader;
    private volatile boolean running;

    /** A sending thread's header and iovec. */
    private static final class Scratch
    {
        final UnsafeBuffer header = new UnsafeBuffer(ByteBuffer.allocateDirect(VirtioNetHeader.LENGTH));
        final UnsafeBuffer iov = new UnsafeBuffer(ByteBuffer.allocateDirect(32));
        final PacketHeaders headers = new PacketHeaders();

        Scratch()
        {
            iov.putLong(0, header.addressOffset());
            iov.putLong(8, VirtioNetHeader.LENGTH);
        }
    }

    /**
     * Creates the interface, up, taking checksum offload and GSO (the guests' vifs settle what their guests cannot
     * take).
     *
     * @param name     the interface's name.
     * @param counters where its counters go.
     */
    TapUplink(final String name, final CountersManager counters)
    {
        super("tap " + name, counters);
        tap = TapDevice.open(name, 1, true);
        try
        {
            tap.setOffload(TapDevice.TUN_F_CSUM | TapDevice.TUN_F_TSO4 | TapDevice.TUN_F_TSO6);
            tap.setLinkUp(true);
        }
        catch (final RuntimeException ex)
        {
            tap.close();
            throw ex;
        }
    }

    /**
     * @return the interface's name.
     */
    String interfaceName()
    {
        return tap.name();
    }

    @Override
    public boolean deliver(final Frame frame, final long nowNanos)
    {
        final Scratch s = scratch.get();
        s.headers.parse(frame.localView(), 0, frame.localLength());
        if (frame.gsoType() != 0 && frame.csum() != Frame.CSUM_PARTIAL && s.headers.hasTransport())
        {
            Checksums.partial(frame.localView(), 0, frame.length(), s.headers);
            frame.csum(Frame.CSUM_PARTIAL);
        }
        if (!VirtioNetHeader.encode(s.header, frame, s.headers))
        {
            return countSent(false, frame.length());
        }
        s.iov.putLong(16, frame.localAddress());
        s.iov.putLong(24, frame.length());
        final long written = tap.writev(0, s.iov.addressOffset(), 2);
        return countSent(written == VirtioNetHeader.LENGTH + frame.length(), frame.length());
    }

    @Override
    void startReceiving()
    {
        running = true;
        reader = new Thread(this::readLoop, "netback-uplink-" + tap.name());
        reader.setDaemon(true);
        reader.start();
    }

    private void readLoop()
    {
        final UnsafeBuffer header = new UnsafeBuffer(ByteBuffer.allocateDirect(VirtioNetHeader.LENGTH));
        final UnsafeBuffer data = new UnsafeBuffer(ByteBuffer.allocateDirect(MAX_FRAME));
        final UnsafeBuffer iov = new UnsafeBuffer(ByteBuffer.allocateDirect(32));
        iov.putLong(0, header.addressOffset());
        iov.putLong(8, VirtioNetHeader.LENGTH);
        iov.putLong(16, data.addressOffset());
        iov.putLong(24, MAX_FRAME);
        final PollFd poll = new PollFd(tap.fd(0), Linux.POLLIN);
        final Frame frame = new Frame();
        final PacketHeaders headers = new PacketHeaders();
        while (running)
        {
            final long n = tap.readv(0, iov.addressOffset(), 2);
            if (n == -Errno.EAGAIN.number())
            {
                poll.poll(POLL_MILLIS);
                continue;
            }
            if (n < VirtioNetHeader.LENGTH + PacketHeaders.ETH_HLEN)
            {
                rxDropped.incrementRelease();
                continue;
            }
            frame.local(data.addressOffset(), (int)n - VirtioNetHeader.LENGTH);
            if (!VirtioNetHeader.decode(header, frame))
            {
                rxDropped.incrementRelease();
                continue;
            }
            received(frame, headers, System.nanoTime());
        }
    }

    @Override
    void stopReceiving()
    {
        running = false;
        if (null != reader)
        {
            try
            {
                reader.join(5_000);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }
        tap.close();
    }
}
