package org.dom0j.netback;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.sim.SimDomain;
import org.dom0j.sim.guest.NetGuest;
import org.dom0j.sim.guest.SimNetfront;
import org.dom0j.test.fuzz.FuzzRun;
import org.dom0j.test.fuzz.Hostile;
import org.dom0j.test.fuzz.ProcessResources;
import org.dom0j.toolstack.XenbusDevices;
import org.dom0j.xenstore.XenStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

import static org.dom0j.protocol.netif.NetifConstants.XEN_NETIF_GSO_TYPE_NONE;

/**
 * Fuzzes netback's rings (issue 14): netback with its switch, run in INVOKER mode so that the test decides when it
 * works, serves two well-behaved Linux-like guests ({@link SimNetfront}) sending each other verified frames, while
 * each case attaches a new hostile guest ({@link HostileNetfront}) that writes random and mutated TX packets (slot
 * counts, sizes, offsets, flags, grant refs, extra infos of every type) and RX buffers (duplicate ids, refs it did
 * not grant or granted read-only), ends grants, storms, and publishes wild indices. The good guests send each other
 * frames, and broadcast ones and some to the hostile guest, so that its RX ring is fed. Checked in every case:
 * <ul>
 *   <li>no exception escapes an agent or the conductor;</li>
 *   <li>the good guests' frames arrive intact, and those that do not are counted as dropped (a hostile flood may
 *       fill a receiver's backlog); once the hostile guest is gone, every frame arrives; their TX requests are all
 *       answered OKAY and their rings are never stopped;</li>
 *   <li>every frame a good guest receives from elsewhere has the hostile guest's own source address (anti-spoofing)
 *       and none of the good guests' bytes; the hostile guest's pages never hold the good guests' bytes;</li>
 *   <li>responses to the hostile guest carry ids it wrote and statuses netif knows, never more than it published,
 *       RX data within one page; a certainly impossible TX {@code req_prod} fails the vif (Closing, error node);</li>
 *   <li>once the hostile guest is gone, its grants can all be ended, and dom0's ports, ring mappings, counters,
 *       descriptors and threads are back where they were; the heap stays within a bound.</li>
 * </ul>
 */
class NetbackRingFuzzTest
{
    private static final int A = 2;
    private static final int B = 3;
    private static final int FIRST_HOSTILE_DOMID = 10;
    private static final long WAIT_MS = 5_000;
    private static final long HEAP_GROWTH_BOUND = 64L << 20;
    /** What every unicast frame of the good guests carries, and nothing else: never seen by the hostile guest. */
    private static final byte[] MARKER = "GoodFrm!".getBytes(StandardCharsets.US_ASCII);
    /** What their broadcast frames carry (the hostile guest gets those too). */
    private static final byte[] BROADCAST_MARKER = "GoodBcst".getBytes(StandardCharsets.US_ASCII);
    /** What their frames to the hostile guest carry. */
    private static final byte[] TO_HOSTILE_MARKER = "GoodToH!".getBytes(StandardCharsets.US_ASCII);
    private static final long BROADCAST = 0xFFFF_FFFF_FFFFL;
    private static final int ETHERTYPE = 0x88B5;

    @TempDir
    Path dir;

    private final Logger quiet = Logger.getLogger("org.dom0j");
    private Level quietWas;
    private NetbackHarness net;
    private final List<Good> goods = new ArrayList<>();
    private Baseline baseline;

    private record Baseline(int dom0Ports, int mappedPages, int counters, ProcessResources process,
        List<String> fds)
    {
    }

    /** A well-behaved guest, and what it sent and received. */
    private final class Good
    {
        final int domid;
        final long mac;
        final XenStore xs;
        final SimNetfront front;
        final String backendPath;
        final UnsafeBuffer frame = new UnsafeBuffer(new byte[2048]);
        /** Sequence numbers sent to the other good guest and not yet received by it. */
        final List<Long> inFlight = new ArrayList<>();
        long nextSeq;
        long received;
        Good peer;
        String problem;

        Good(final int domid) throws Exception
        {
            this.domid = domid;
            final String macText = NetGuest.defaultMac(domid, "0");
            mac = Long.parseLong(macText.replace(":", ""), 16);
            final SimDomain guest = net.machine.createGuest(domid, "good" + domid, 4096);
            XenbusDevices.attach(net.machine.xenStore(), 0, "vif", domid, "0",
                Map.of("script", "/bin/true", "mac", macText, "bridge", "xenbr0", "handle", "0", "type", "vif"),
                Map.of("handle", "0", "mac", macText, "mtu", "1500"));
            backendPath = XenbusDevices.backendPath(0, "vif", domid, "0");
            xs = net.machine.connectAsGuest(domid);
            final ExecutorService connector = Executors.newSingleThreadExecutor();
            try
            {
                final Future<SimNetfront> connecting = connector.submit(() ->
                    SimNetfront.connect(guest, xs, "0", SimNetfront.Options.linuxDefaults(), WAIT_MS));
                final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
                while (!connecting.isDone() && System.nanoTime() < deadline)
                {
                    net.pump();
                    Thread.sleep(1);
                }
                front = connecting.get(1, TimeUnit.SECONDS);
            }
            finally
            {
                connector.shutdownNow();
            }
        }

        /** Sends up to {@code count} frames to the peer, as many as fit, and now and then one to everyone. */
        void send(final Hostile in, final int count)
        {
            for (int i = 0; i < count; i++)
            {
                final int length = in.between(64, 1514);
                final int to = hostileMac == 0 ? 0 : in.nextInt(5);
                final long dst = to == 0 || to == 1 ? peer.mac : to == 2 ? hostileMac : BROADCAST;
                fill(frame, dst, mac, to == 0 || to == 1 ? MARKER : to == 2 ? TO_HOSTILE_MARKER : BROADCAST_MARKER,
                    nextSeq, length);
                if (!front.send(0, frame, 0, length, 0, XEN_NETIF_GSO_TYPE_NONE, 0))
                {
                    return;
                }
                if (dst == peer.mac)
                {
                    inFlight.add(nextSeq);
                }
                nextSeq++;
            }
        }

        void poll()
        {
            front.poll(this::onFrame);
        }

        private void onFrame(final int queue, final DirectBuffer data, final int length, final int rxFlags,
            final int gsoType, final int gsoSize)
        {
            final byte[] bytes = new byte[length];
            data.getBytes(0, bytes);
            final long src = mac(bytes, 6);
            final boolean unicast = length >= 30 && HostileNetfront.indexOf(bytes, 30, MARKER) == 14;
            if (src == peer.mac && (unicast || length >= 30 &&
                HostileNetfront.indexOf(bytes, 30, BROADCAST_MARKER) == 14))
            {
                final long seq = getLong(bytes, 22);
                final UnsafeBuffer expected = new UnsafeBuffer(new byte[length]);
                fill(expected, unicast ? mac : BROADCAST, peer.mac, unicast ? MARKER : BROADCAST_MARKER, seq,
                    length);
                if (!expected.equals(new UnsafeBuffer(bytes)))
                {
                    note("frame " + seq + " from domain " + peer.domid + " arrived altered");
                }
                if (unicast && !peer.inFlight.remove(seq))
                {
                    note("frame " + seq + " from domain " + peer.domid + " arrived twice or was never sent");
                }
                received++;
                return;
            }
            if (src != hostileMac)
            {
                note("a frame from source " + Long.toHexString(src) + ", which no guest may use (anti-spoofing)");
            }
            // It may send on what it received (a TX slot may name one of its RX pages), never what it did not.
            if (HostileNetfront.indexOf(bytes, length, MARKER) >= 0)
            {
                note("a frame from the hostile guest carries bytes of a frame between the good guests");
            }
        }

        private void note(final String what)
        {
            if (null == problem)
            {
                problem = "domain " + domid + ": " + what;
            }
        }

        long dropped()
        {
            long n = 0;
            for (final NetbackCounters c : net.vif.counters(backendPath))
            {
                n += c.txDropped() + c.rxDropped();
            }
            return n;
        }

        void check()
        {
            require(null == problem, problem);
            require(null == front.violation(), "domain " + domid + " saw its backend break netif: " +
                front.violation());
            require(front.txErrors() == 0, "domain " + domid + " got " + front.txErrors() + " TX errors");
        }
    }

    private long hostileMac;
    /** What became of the hostile guests: their vifs' fates, and the answers they got. */
    private final java.util.TreeMap<String, Integer> outcomes = new java.util.TreeMap<>();
    private final long[] txStatuses = new long[4];
    private long rxAnswered;
    private long rxErrors;

    @AfterEach
    void tearDown() throws InterruptedException
    {
        // The netfronts close with a handshake: the backend must run meanwhile, on this thread.
        final Thread closer = new Thread(() ->
        {
            for (final Good good : goods)
            {
                good.front.close();
                good.xs.close();
            }
        }, "good-netfronts-close");
        closer.start();
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2 * WAIT_MS);
        while (closer.isAlive() && null != net && System.nanoTime() < deadline)
        {
            net.conductor.doWork();
            net.invoker.invokeAll();
            Thread.sleep(1);
        }
        closer.join();
        if (null != net)
        {
            net.close();
        }
        quiet.setLevel(quietWas);
    }

    @Test
    @Timeout(value = 1, unit = TimeUnit.HOURS)
    void shouldSurviveHostileNetifRingsWhileTwoWellBehavedGuestsTalk() throws Exception
    {
        quietWas = quiet.getLevel();
        quiet.setLevel(Level.SEVERE);
        net = new NetbackHarness(dir,
            NetbackConfiguration.fromSystemProperties().withMode(NetbackConfiguration.Mode.SWITCH));
        final Good a = new Good(A);
        final Good b = new Good(B);
        a.peer = b;
        b.peer = a;
        goods.add(a);
        goods.add(b);

        final FuzzRun run = FuzzRun.configure("netback rings", 0x4E7B_0000L, 150, 7);
        final long[] heapBefore = new long[1];
        final FuzzRun.Summary summary = run.run((in, iteration) ->
        {
            if (null == baseline)
            {
                final ProcessResources process = ProcessResources.withHeap();
                heapBefore[0] = process.heapBytes();
                baseline = new Baseline(dom0Ports(), net.gnttab.mappedPageCount(), countersAllocated(), process,
                    ProcessResources.openFdTargets());
            }
            oneCase(in, FIRST_HOSTILE_DOMID + (int)(iteration % 2000));
        });
        System.out.println("netback rings: the good guests received " + a.received + " and " + b.received +
            " verified frames meanwhile; the hostile guests got TX responses OKAY " + txStatuses[2] + ", ERROR " +
            txStatuses[1] + ", DROPPED " + txStatuses[0] + ", NULL " + txStatuses[3] + ", RX responses " +
            rxAnswered + " (" + rxErrors + " errors); their vifs: " + outcomes);
        if (!run.isReplay())
        {
            final long heapAfter = ProcessResources.withHeap().heapBytes();
            System.out.println("heap after GC: " + (heapBefore[0] >> 10) + " KiB before, " + (heapAfter >> 10) +
                " KiB after");
            require(heapAfter - heapBefore[0] <= HEAP_GROWTH_BOUND, "heap grew by " +
                ((heapAfter - heapBefore[0]) >> 20) + " MiB over " + summary.cases() + " cases");
        }
    }

    private void oneCase(final Hostile in, final int domid) throws Exception
    {
        hostileMac = 0x00163E00_0000L | (domid & 0xFFFFL) << 8 | 0x77;
        final HostileNetfront hostile = new HostileNetfront(net.machine, domid, hostileMac,
            new long[]{ goods.get(0).mac, goods.get(1).mac }, in);
        try
        {
            pumpUntil(() -> "2".equals(hostile.backendState()), "backend reaches InitWait", hostile);
            final long droppedBefore = droppedTotal();
            if (in.chance(3))
            {
                // Impossible TX indices before the backend attaches: refused at connect.
                hostile.tx.buffer.putIntRelease(0, hostile.tx.rspCons + 300);
                hostile.tx.wild = true;
                hostile.tx.certainlyWild = true;
            }
            hostile.front.connect();
            pumpUntil(() -> "4".equals(hostile.backendState()) || "5".equals(hostile.backendState()),
                "backend connects or fails", hostile);
            if ("4".equals(hostile.backendState()))
            {
                attack(in, hostile);
            }
            judge(hostile, droppedBefore);
            leave(in, hostile, domid);
        }
        finally
        {
            hostile.close();
            if (net.machine.host().exists(domid))
            {
                net.machine.destroyGuest(domid);
            }
        }
        hostileMac = 0;
        requireBackToBaseline(domid);
        requireGoodTrafficFlows(in);
    }

    private void attack(final Hostile in, final HostileNetfront hostile)
    {
        final int rounds = in.between(1, 20);
        for (int r = 0; r < rounds && "4".equals(hostile.backendState()); r++)
        {
            final int action = in.nextInt(100);
            if (action < 40 && !hostile.tx.wild)
            {
                hostile.postTx();
                hostile.notify(hostile.tx, in.chance(90) ? 1 : 0);
            }
            else if (action < 65 && !hostile.rx.wild)
            {
                hostile.postRx();
                hostile.notify(hostile.rx, in.chance(90) ? 1 : 0);
            }
            else if (action < 72)
            {
                hostile.notify(in.nextBoolean() ? hostile.tx : hostile.rx, in.between(20, 300));
            }
            else if (action < 78)
            {
                hostile.scribbleEventIndices(in.nextBoolean() ? hostile.tx : hostile.rx);
            }
            else if (action < 84)
            {
                hostile.toggleAGrant();
            }
            else if (action < 87)
            {
                final HostileNetfront.Ring ring = in.nextBoolean() ? hostile.tx : hostile.rx;
                hostile.wildIndex(ring);
                hostile.notify(ring, 1);
            }
            goods.get(in.nextInt(2)).send(in, in.between(0, 6));
            pump(hostile);
        }
    }

    private void judge(final HostileNetfront hostile, final long droppedBefore)
    {
        pump(hostile);
        final String state = hostile.backendState();
        final String error = net.machine.xenStore().readOrNull("/local/domain/0/error/backend/vif/" +
            hostile.front.domid + "/0/error");
        if (hostile.tx.certainlyWild)
        {
            require("5".equals(state), "an impossible TX req_prod fails the vif: state " + state);
        }
        if ("5".equals(state))
        {
            require(null != error, "a failed vif says why");
            final String reason = error.replaceAll("[0-9]+", "N");
            outcomes.merge("failed: " + reason.substring(0, Math.min(110, reason.length())), 1, Integer::sum);
        }
        else
        {
            require("4".equals(state), "the vif is connected or failed: " + state + " (" + error + ")");
            outcomes.merge("served to the end", 1, Integer::sum);
        }
        for (int i = 0; i < txStatuses.length; i++)
        {
            txStatuses[i] += hostile.txStatuses[i];
        }
        rxAnswered += hostile.rxAnswered;
        rxErrors += hostile.rxErrors;
        // What the good guests sent arrived, or was counted as dropped (a flood may fill a backlog).
        long missing = 0;
        for (final Good good : goods)
        {
            good.check();
            missing += good.inFlight.size();
        }
        final long dropped = droppedTotal() - droppedBefore;
        require(missing <= dropped, missing + " frames of the good guests neither arrived nor were counted as " +
            "dropped (" + dropped + " drops)");
        for (final Good good : goods)
        {
            good.inFlight.clear();
        }
        final String found = hostile.findInPages(MARKER);
        require(null == found, "a good guest's bytes in the hostile guest's pages: " + found);
    }

    private void leave(final Hostile in, final HostileNetfront hostile, final int domid) throws Exception
    {
        final String fe = hostile.front.frontendPath;
        if (in.chance(60))
        {
            hostile.front.xs.write(fe + "/state", "5");
            pumpUntil(() -> "5".equals(hostile.backendState()) || "6".equals(hostile.backendState()),
                "backend closing after the frontend", hostile);
            hostile.front.xs.write(fe + "/state", "6");
            pumpUntil(() -> "6".equals(hostile.backendState()), "backend closed after the frontend", hostile);
            final List<Integer> busy = hostile.endAllGrants();
            require(busy.isEmpty(), "grants still in use by dom0 after it closed: " + busy);
        }
        hostile.close();
        net.machine.destroyGuest(domid);
    }

    private void requireBackToBaseline(final int domid)
    {
        final String be = XenbusDevices.backendPath(0, "vif", domid, "0");
        pumpUntil(() -> null == net.machine.xenStore().readOrNull(be + "/state") &&
            dom0Ports() == baseline.dom0Ports() && net.gnttab.mappedPageCount() == baseline.mappedPages() &&
            countersAllocated() == baseline.counters() && ProcessResources.now().backTo(baseline.process()),
            "service back to its baseline after the hostile guest left", null);
        require(net.errors.isEmpty(), "an agent threw: " + net.errors);
    }

    private void requireGoodTrafficFlows(final Hostile in)
    {
        // With the hostile guest gone nothing may be lost.
        for (final Good good : goods)
        {
            good.send(in, 4);
        }
        pumpUntil(() -> goods.get(0).inFlight.isEmpty() && goods.get(1).inFlight.isEmpty(),
            "the good guests' frames arrive once the hostile guest is gone", null);
        for (final Good good : goods)
        {
            good.check();
        }
    }

    private long droppedTotal()
    {
        return goods.get(0).dropped() + goods.get(1).dropped();
    }

    /** Runs the conductor and the agents until nothing more happens; the guests take what came. */
    private void pump(final HostileNetfront hostile)
    {
        int idle = 0;
        for (int i = 0; i < 10_000 && idle < 3; i++)
        {
            final int work = net.conductor.doWork() + net.invoker.invokeAll();
            for (final Good good : goods)
            {
                good.poll();
            }
            if (null != hostile)
            {
                final String problem = hostile.collect();
                require(null == problem, problem);
            }
            idle = work == 0 ? idle + 1 : 0;
        }
        require(net.errors.isEmpty(), "an agent threw: " + net.errors);
    }

    private void pumpUntil(final BooleanSupplier condition, final String what, final HostileNetfront hostile)
    {
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
        while (!condition.getAsBoolean())
        {
            require(System.nanoTime() < deadline, what + " (not in " + WAIT_MS + " ms)" +
                (null == baseline ? "" : "; now: dom0 ports " + dom0Ports() + " (was " + baseline.dom0Ports() +
                "), ring pages mapped " + net.gnttab.mappedPageCount() + " (was " + baseline.mappedPages() +
                "), counters " + countersAllocated() + " (was " + baseline.counters() + "), " +
                ProcessResources.now() + " (was " + baseline.process() + "), new descriptors " +
                ProcessResources.newFdTargets(baseline.fds())));
            pump(hostile);
            Thread.onSpinWait();
        }
    }

    private int dom0Ports()
    {
        return net.machine.host().domain(0).boundPortCount();
    }

    private int countersAllocated()
    {
        final int[] n = new int[1];
        net.counters.forEach((value, id, label) -> n[0]++);
        return n[0];
    }

    /** A good guest's frame: its header, a marker, a sequence number, then bytes that follow from it. */
    private static void fill(final UnsafeBuffer frame, final long dst, final long src, final byte[] marker,
        final long seq, final int length)
    {
        for (int i = 0; i < 6; i++)
        {
            frame.putByte(i, (byte)(dst >>> (40 - 8 * i)));
            frame.putByte(6 + i, (byte)(src >>> (40 - 8 * i)));
        }
        frame.putByte(12, (byte)(ETHERTYPE >>> 8));
        frame.putByte(13, (byte)ETHERTYPE);
        frame.putBytes(14, marker);
        for (int i = 0; i < 8; i++)
        {
            frame.putByte(22 + i, (byte)(seq >>> (8 * i)));
        }
        for (int i = 30; i < length; i++)
        {
            frame.putByte(i, (byte)(seq * 31 + i * 7 + (i >>> 8)));
        }
    }

    private static long mac(final byte[] bytes, final int at)
    {
        long value = 0;
        for (int i = 0; i < 6; i++)
        {
            value = value << 8 | (bytes[at + i] & 0xFF);
        }
        return value;
    }

    private static long getLong(final byte[] bytes, final int at)
    {
        long value = 0;
        for (int i = 7; i >= 0; i--)
        {
            value = value << 8 | (bytes[at + i] & 0xFF);
        }
        return value;
    }

    private static void require(final boolean condition, final String what)
    {
        if (!condition)
        {
            throw new AssertionError(what);
        }
    }
}
