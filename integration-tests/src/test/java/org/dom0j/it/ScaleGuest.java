package org.dom0j.it;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.backend.XenbusState;
import org.dom0j.sim.SimDomain;
import org.dom0j.sim.SimMachine;
import org.dom0j.sim.guest.BlockWorkload;
import org.dom0j.sim.guest.NetGuest;
import org.dom0j.sim.guest.SimBlkfront;
import org.dom0j.sim.guest.SimConsoleFront;
import org.dom0j.sim.guest.SimNetStack;
import org.dom0j.sim.guest.SimNetfront;
import org.dom0j.sim.guest.StreamVerifier;
import org.dom0j.test.Await;
import org.dom0j.toolstack.XenbusDevices;
import org.dom0j.xenstore.XenStore;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_GSO_TYPE_TCPV4;

/**
 * One guest of {@link ScaleTest}: a small domain with a disk ({@code vbd 51712}, a sparse file), a network interface
 * ({@code vif 0}) and a secondary console ({@code console 1}), attached as libxl would and connected by the
 * simulator's Linux-like frontends. A verified {@link BlockWorkload} runs on the disk; a {@link SimNetStack} pings
 * its peer (the other guest of its pair) and moves a verified TCP stream to it through the service's switch; the
 * console carries a line the guest writes.
 * <p>
 * The guest is a state machine stepped without blocking ({@link #step}) by one of the test's driver threads (its
 * vCPU); its progress counters are published for the test's thread. Connecting and tearing down run on a pool
 * thread of the test, one guest at a time per thread.
 */
final class ScaleGuest
{
    static final String DISK_DEVID = "51712";
    static final String VIF_DEVID = "0";
    static final String CONSOLE_DEVID = "1";
    private static final long TIMEOUT_MS = 30_000;
    private static final long PING_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
    private static final int GTF_READING = 1 << 3;
    private static final int GTF_WRITING = 1 << 4;
    private static final int FIRST_REF = 8;
    private static final int GRANT_ENTRIES = 32768;

    final int domid;
    private final SimMachine machine;
    private final Path disk;
    private final long seed;
    private final int ip;
    private final int peerIp;
    private SimDomain domain;
    private XenStore xs;
    private SimBlkfront blkfront;
    private SimNetfront netfront;
    private SimConsoleFront console;
    private BlockWorkload workload;
    private SimNetStack stack;
    private SimNetfront.FrameHandler frames;
    private long nextPing;
    private int pingSeq;
    private boolean draining;

    /** Disk requests answered, published by the driver after each step. */
    volatile long diskOps;
    /** Bytes of the peer's stream received and verified, published by the driver. */
    volatile long netBytes;
    /** Pings answered, published by the driver. */
    volatile long pingReplies;
    /** What went wrong on this guest's thread, or null. */
    volatile String problem;

    ScaleGuest(
        final SimMachine machine, final int domid, final Path disk, final long seed, final int ip, final int peerIp)
    {
        this.machine = machine;
        this.domid = domid;
        this.disk = disk;
        this.seed = seed;
        this.ip = ip;
        this.peerIp = peerIp;
    }

    /**
     * What {@code xl create} and three {@code xl *-attach} do, then each frontend connects as Linux's would.
     *
     * @param pages the guest's memory in pages.
     */
    void create(final int pages) throws TimeoutException, InterruptedException
    {
        final String name = "scale-" + domid;
        domain = machine.createGuest(domid, name, pages);
        final XenStore dom0 = machine.xenStore();
        XenbusDevices.attach(dom0, 0, "vbd", domid, DISK_DEVID,
            Map.of("params", disk.toString(), "mode", "w", "type", "phy", "dev", "xvda", "device-type", "disk",
                "removable", "0", "discard-enable", "1"),
            Map.of("virtual-device", DISK_DEVID, "device-type", "disk"));
        final String mac = NetGuest.defaultMac(domid, VIF_DEVID);
        XenbusDevices.attach(dom0, 0, "vif", domid, VIF_DEVID,
            Map.of("script", "/bin/true", "mac", mac, "bridge", "xenbr0", "handle", VIF_DEVID, "type", "vif"),
            Map.of("handle", VIF_DEVID, "mac", mac, "mtu", "1500", "trusted", "1"));
        XenbusDevices.attach(dom0, 0, "console", domid, CONSOLE_DEVID, Map.of("protocol", "vt100"), Map.of());
        xs = machine.connectAsGuest(domid);
        // One queue, one ring page, 11 segments: a 1-vCPU Linux guest.
        blkfront = SimBlkfront.connect(domain, xs, DISK_DEVID, SimBlkfront.Options.linuxDefaults(), TIMEOUT_MS);
        netfront = SimNetfront.connect(domain, xs, VIF_DEVID, SimNetfront.Options.linuxDefaults(), TIMEOUT_MS);
        console = SimConsoleFront.connect(domain, xs, CONSOLE_DEVID, TIMEOUT_MS);
        workload = new BlockWorkload(blkfront, seed, 50, 8, 50, true);
        // A 64 KiB window and no UDP stream keep a hundred pairs of streams to what two cores can carry.
        final SimNetStack.Config defaults = SimNetStack.Config.defaults();
        final SimNetStack.Config config = new SimNetStack.Config(Math.min(netfront.mtu(), 1500), true,
            netfront.canGso(XEN_NETIF_GSO_TYPE_TCPV4), 64 * 1024,
            defaults.maxGsoSegments(), false);
        final SimNetfront front = netfront;
        final int queues = front.queueCount();
        stack = new SimNetStack(front.mac(), ip, seed, config,
            (flow, frame, length, flags, gsoType, gsoSize) ->
                front.send(flow % queues, frame, 0, length, flags, gsoType, gsoSize));
        final SimNetStack guestStack = stack;
        frames = (queue, frame, length, rxFlags, gsoType, gsoSize) ->
            guestStack.receive(frame, length, rxFlags, gsoType, gsoSize);
        stack.openStream(peerIp);
        nextPing = System.nanoTime();
    }

    /**
     * One pass of the guest's vCPU, never blocking: disk requests submitted and answers taken, frames received,
     * a ping when one is due, stream frames sent.
     *
     * @param now the driver's clock.
     * @return work done (0: nothing moved).
     */
    int step(final long now)
    {
        if (null != problem)
        {
            return 0;
        }
        int work = 0;
        try
        {
            if (!draining)
            {
                work += workload.submitSome();
            }
            work += blkfront.poll(workload);
            work += netfront.poll(frames);
            if (!draining && now - nextPing >= 0)
            {
                if (stack.ping(peerIp, pingSeq & 0xFFFF))
                {
                    pingSeq++;
                }
                nextPing = now + PING_INTERVAL_NANOS;
            }
            work += stack.pump();
            publish();
        }
        catch (final RuntimeException ex)
        {
            problem = "guest " + domid + ": " + ex;
        }
        return work;
    }

    private void publish()
    {
        diskOps = workload.stats().operations();
        final StreamVerifier tcp = stack.tcpReceiver();
        netBytes = null == tcp ? 0 : tcp.bytes();
        pingReplies = stack.stats().pingReplies;
        if (null == problem)
        {
            problem = firstProblem();
        }
    }

    private String firstProblem()
    {
        if (null != blkfront.violation())
        {
            return "guest " + domid + " disk: " + blkfront.violation();
        }
        if (workload.stats().mismatches > 0 || workload.stats().errors > 0)
        {
            return "guest " + domid + " disk: " + workload.stats().errors + " errors, " +
                workload.stats().mismatches + " mismatches, first " + workload.firstMismatch();
        }
        if (null != netfront.violation())
        {
            return "guest " + domid + " nic: " + netfront.violation();
        }
        final StreamVerifier tcp = stack.tcpReceiver();
        if (null != tcp && tcp.mismatches() > 0)
        {
            return "guest " + domid + " nic: stream " + tcp.firstMismatch();
        }
        if (stack.stats().pingMismatches > 0 || stack.stats().checksumErrors > 0 || stack.stats().rxMalformed > 0)
        {
            return "guest " + domid + " nic: " + stack.stats().pingMismatches + " ping mismatches, " +
                stack.stats().checksumErrors + " checksum errors, " + stack.stats().rxMalformed + " malformed";
        }
        return null;
    }

    /**
     * Stops new disk requests, pings and stream data; what is in flight is still answered and acknowledged.
     * Driver thread.
     */
    void beginDrain()
    {
        draining = true;
        stack.stopSending();
    }

    /**
     * @return whether every disk request is answered and every stream byte acknowledged (driver thread).
     */
    boolean drained()
    {
        return blkfront.outstanding() == 0 && stack.drained();
    }

    /**
     * Writes a line to the secondary console (after the driver stopped stepping this guest).
     *
     * @return the line, without its newline.
     */
    String sayOnConsole() throws TimeoutException
    {
        final String line = "scale guest " + domid + ": " + workload.stats().operations() + " disk requests, " +
            stack.tcpReceiver().bytes() + " stream bytes verified, " + stack.stats().pingReplies + " pings answered";
        console.writeFully(line + "\n", TIMEOUT_MS);
        return line;
    }

    /**
     * @return the backing file of its disk.
     */
    Path disk()
    {
        return disk;
    }

    /**
     * @return the log serve keeps of the secondary console, relative to its log directory.
     */
    String consoleLogName()
    {
        return "guest-scale-" + domid + "-" + CONSOLE_DEVID + ".log";
    }

    /**
     * The frontends close as Linux's do on removal, and wait until every backend is Closed.
     *
     * @return grants the network frontend could not end because the backend still held them.
     */
    int disconnect() throws TimeoutException, InterruptedException
    {
        blkfront.disconnect(TIMEOUT_MS);
        netfront.close();
        console.disconnect(TIMEOUT_MS);
        for (final String[] device : new String[][]{ { "vbd", DISK_DEVID }, { "vif", VIF_DEVID },
            { "console", CONSOLE_DEVID } })
        {
            awaitBackendClosed(XenbusDevices.backendPath(0, device[0], domid, device[1]));
        }
        xs.close();
        return netfront.leakedGrants();
    }

    private void awaitBackendClosed(final String backendPath) throws TimeoutException, InterruptedException
    {
        final String path = backendPath + "/state";
        if (!Await.until(() ->
        {
            final String state = machine.xenStore().readOrNull(path);
            return null == state || XenbusState.CLOSED.wireValue().equals(state);
        }, TIMEOUT_MS))
        {
            throw new TimeoutException(path + " is still " + machine.xenStore().readOrNull(path));
        }
    }

    /**
     * @return this guest's grants that another domain has mapped or is copying now (GTF_reading/GTF_writing set).
     */
    int grantsInUse()
    {
        int n = 0;
        for (int ref = FIRST_REF; ref < GRANT_ENTRIES; ref++)
        {
            if ((domain.grantFlags(ref) & (GTF_READING | GTF_WRITING)) != 0)
            {
                n++;
            }
        }
        return n;
    }

    /**
     * Reads the whole backing file and checks every block against the workload's model: the version last written
     * and answered, or zeros for a block never written or discarded.
     *
     * @return a description of the first block that differs, or null.
     */
    String verifyDisk() throws IOException
    {
        final ByteBuffer block = ByteBuffer.allocateDirect(4096);
        final UnsafeBuffer view = new UnsafeBuffer(block);
        try (FileChannel file = FileChannel.open(disk, StandardOpenOption.READ))
        {
            for (long b = 0; b < workload.blocks(); b++)
            {
                block.clear();
                while (block.hasRemaining() && file.read(block, b * 4096 + block.position()) > 0)
                {
                    // Read the whole block.
                }
                final long version = workload.currentVersion(b);
                for (int i = 0; i < 4096; i += 8)
                {
                    final long expected = version == 0 ? 0 : BlockWorkload.word(seed, b, version, i);
                    if (view.getLong(i) != expected)
                    {
                        return "guest " + domid + ": block " + b + " of its disk (version " + version +
                            ") differs at byte " + i + " (seed " + seed + ")";
                    }
                }
            }
        }
        return null;
    }

    /**
     * What {@code xl *-detach} and {@code xl destroy} do.
     */
    void destroy()
    {
        final XenStore dom0 = machine.xenStore();
        for (final String[] device : new String[][]{ { "vbd", DISK_DEVID }, { "vif", VIF_DEVID },
            { "console", CONSOLE_DEVID } })
        {
            XenbusDevices.requestDetach(dom0, 0, device[0], domid, device[1]);
            XenbusDevices.remove(dom0, 0, device[0], domid, device[1]);
        }
        machine.destroyGuest(domid);
    }
}
