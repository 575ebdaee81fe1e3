package org.dom0j.netback;

import org.dom0j.linux.TapDevice;

import java.util.Locale;

/**
 * One guest network interface as the backend keeps it for the device's whole life (across the frontend's
 * reconnects, as Linux keeps its {@code xenvif}): its name ({@code vif<domid>.<handle>}), the guest's MAC address from
 * the toolstack, its multicast filter, and the queues connected now. As a {@link SwitchPort} it takes frames for the
 * guest from any agent and queues each on one of the guest's queues, chosen by the frame's flow hash (computed once
 * by whoever forwards it) so that a flow keeps its order.
 * <p>
 * When the frontend configured Toeplitz hashing over its control ring ({@link CtrlRingHandler}), the queue follows
 * that instead, as in Linux's {@code xenvif_select_queue}: the frame's hash for the maximal enabled type
 * ({@link HashConfig#hash}), then the frontend's mapping table (or the hash modulo the number of queues), and the
 * frame goes in with the hash, which the guest receives as a HASH extra info. With hashing off, a frame carries no
 * hash to the guest (Linux clears it), whatever the sender's frontend attached.
 * <p>
 * <b>Threads</b>: {@link #deliver} from any agent; {@link #connected} and {@link #disconnected} from the conductor;
 * {@link #hashConfig(HashConfig)} from the control ring's agent (and the conductor, to reset it).
 */
final class Vif implements SwitchPort
{
    private static final VifQueue[] NONE = new VifQueue[0];

    private final String name;
    private final int domid;
    private final long mac;
    private final MulticastFilter multicast = new MulticastFilter();
    private volatile VifQueue[] queues = NONE;
    private volatile boolean carrier = true;
    private int switchPort = -1;
    private volatile TapDevice tap;
    private volatile CaptureRing capture;
    private volatile HashConfig hashConfig = HashConfig.NONE;

    /**
     * @param domid  the guest.
     * @param handle the vif's handle (its devid).
     * @param mac    the guest's address, from the backend's {@code mac}.
     */
    Vif(final int domid, final int handle, final long mac)
    {
        this.name = "vif" + domid + "." + handle;
        this.domid = domid;
        this.mac = mac;
    }

    @Override
    public String name()
    {
        return name;
    }

    int domid()
    {
        return domid;
    }

    /**
     * @return the guest's MAC address.
     */
    long mac()
    {
        return mac;
    }

    @Override
    public long fixedMac()
    {
        return mac;
    }

    @Override
    public boolean acceptsReferences()
    {
        return true;
    }

    MulticastFilter multicast()
    {
        return multicast;
    }

    /**
     * @param queue a queue that connected (conductor thread).
     */
    synchronized void connected(final VifQueue queue)
    {
        final VifQueue[] now = queues;
        final VifQueue[] next = java.util.Arrays.copyOf(now, now.length + 1);
        next[now.length] = queue;
        queues = next;
    }

    /**
     * Every queue is gone (the frontend disconnected).
     */
    synchronized void disconnected()
    {
        queues = NONE;
        multicast.clear();
    }

    /**
     * @return the queues connected now.
     */
    VifQueue[] queues()
    {
        return queues;
    }

    /**
     * @param on whether the link is up (off while the guest's receive side is stalled).
     */
    void carrier(final boolean on)
    {
        carrier = on;
        final TapDevice t = tap;
        if (t != null)
        {
            try
            {
                t.setCarrier(on);
            }
            catch (final RuntimeException ex)
            {
                // A kernel without TUNSETCARRIER: the guest's queue still holds back what it cannot take.
            }
        }
    }

    /**
     * @param ring where this vif's frames are captured from now on, or null to stop (the capture watcher).
     */
    void capture(final CaptureRing ring)
    {
        capture = ring;
    }

    /**
     * @return whether frames are being captured: every frame is then made local on its way (no copy by reference).
     */
    boolean isCaptured()
    {
        return capture != null;
    }

    /**
     * Captures a frame, when a capture runs (any agent).
     *
     * @param frame     the frame, local.
     * @param direction {@link CaptureRing#FROM_GUEST} or {@link CaptureRing#TO_GUEST}.
     */
    void captured(final Frame frame, final int direction)
    {
        final CaptureRing ring = capture;
        if (ring != null)
        {
            ring.write(frame, direction);
        }
    }

    /**
     * @param device the vif's TAP in drop-in mode, whose carrier follows the vif's.
     */
    void tap(final TapDevice device)
    {
        tap = device;
    }

    /**
     * @return whether the link is up.
     */
    boolean carrier()
    {
        return carrier;
    }

    int switchPort()
    {
        return switchPort;
    }

    void switchPort(final int id)
    {
        switchPort = id;
    }

    /**
     * @return the hashing configuration in force now.
     */
    HashConfig hashConfig()
    {
        return hashConfig;
    }

    /**
     * @param config the hashing configuration from now on (published by the control ring's agent; reset to
     *               {@link HashConfig#NONE} when the frontend disconnects).
     */
    void hashConfig(final HashConfig config)
    {
        hashConfig = config;
    }

    @Override
    public boolean deliver(final Frame frame, final long nowNanos)
    {
        final VifQueue[] q = queues;
        if (q.length == 0)
        {
            return false;
        }
        if (!carrier)
        {
            q[0].countDropped();
            return false;
        }
        // The frame may go on to other ports after this one (a flood): its own hash is put back afterwards.
        final int senderHashType = frame.hashType();
        final int senderHash = frame.hash();
        try
        {
            final VifQueue target = steer(frame, q);
            if (!multicast.accepts(PacketHeaders.mac(frame.localView(), 0)))
            {
                target.countDropped();
                return false;
            }
            return target.offer(frame, nowNanos);
        }
        finally
        {
            frame.hash(senderHashType, senderHash);
        }
    }

    /**
     * Picks the queue for a frame and sets the hash it carries to the guest (the caller's thread; the frame's own
     * header parser is the only scratch used).
     */
    private VifQueue steer(final Frame frame, final VifQueue[] q)
    {
        final HashConfig hashing = hashConfig;
        if (!hashing.isActive())
        {
            frame.hash(-1, 0);
            return q.length == 1 ? q[0] : q[Math.floorMod(frame.flowHash(), q.length)];
        }
        final long result = hashing.hash(frame.localView(), frame.localLength(), frame.headers());
        final int value = HashConfig.valueOf(result);
        frame.hash(HashConfig.typeOf(result), value);
        return q[hashing.queue(value, q.length)];
    }

    /**
     * @param text a MAC address as libxl writes it, "00:16:3e:12:34:56".
     * @return the 48-bit address, or -1 when it is not six colon-separated hex bytes.
     */
    static long parseMac(final String text)
    {
        if (text == null || text.length() != 17)
        {
            return -1;
        }
        long mac = 0;
        for (int i = 0; i < 6; i++)
        {
            if (i > 0 && text.charAt(i * 3 - 1) != ':')
            {
                return -1;
            }
            final int hi = Character.digit(text.charAt(i * 3), 16);
            final int lo = Character.digit(text.charAt(i * 3 + 1), 16);
            if (hi < 0 || lo < 0)
            {
                return -1;
            }
            mac = mac << 8 | hi << 4 | lo;
        }
        return mac;
    }

    /**
     * @param mac a 48-bit address.
     * @return it as "aa:bb:cc:dd:ee:ff".
     */
    static String formatMac(final long mac)
    {
        final StringBuilder s = new StringBuilder(17);
        for (int i = 5; i >= 0; i--)
        {
            s.append(String.format(Locale.ROOT, "%02x", (mac >>> (8 * i)) & 0xFF));
            if (i > 0)
            {
                s.append(':');
            }
        }
        return s.toString();
    }
}
