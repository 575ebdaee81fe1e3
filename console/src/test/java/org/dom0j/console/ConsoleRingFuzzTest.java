package org.dom0j.console;

import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.CountersManager;
import org.dom0j.backend.AgentScheduler;
import org.dom0j.backend.BackendConductor;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.evtchn.EventChannelIdleStrategy;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.sim.SimDomain;
import org.dom0j.sim.SimMachine;
import org.dom0j.sim.SimPlatform;
import org.dom0j.sim.guest.SimConsoleFront;
import org.dom0j.test.Await;
import org.dom0j.test.fuzz.FuzzRun;
import org.dom0j.test.fuzz.Hostile;
import org.dom0j.test.fuzz.ProcessResources;
import org.dom0j.toolstack.XenbusDevices;
import org.dom0j.xenstore.XenStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

import static org.dom0j.protocol.console.XenconsDescriptor.IN_CONS_OFFSET;
import static org.dom0j.protocol.console.XenconsDescriptor.IN_PROD_OFFSET;
import static org.dom0j.protocol.console.XenconsDescriptor.IN_SIZE;
import static org.dom0j.protocol.console.XenconsDescriptor.OUT_CONS_OFFSET;
import static org.dom0j.protocol.console.XenconsDescriptor.OUT_PROD_OFFSET;
import static org.dom0j.protocol.console.XenconsDescriptor.OUT_SIZE;
import static org.dom0j.protocol.console.XenconsDescriptor.inOffset;
import static org.dom0j.protocol.console.XenconsDescriptor.outOffset;

/**
 * Fuzzes the console pages (issue 14): the console service as {@code dom0j serve} runs it (secondary consoles through
 * the conductor, primary consoles through {@link PrimaryConsoles}) serves a well-behaved guest whose console echoes
 * through an attached client, while each case gives a new hostile guest a secondary or a primary console and lets it
 * write random bytes, publish {@code out_prod} honestly or far ahead, behind, wrapped; scribble on the indices that
 * are the backend's ({@code out_cons}, {@code in_prod}) and on {@code out[]} beyond what it published; consume input
 * honestly or with an impossible {@code in_cons}; storm. Checked in every case:
 * <ul>
 *   <li>no exception escapes an agent, both agents keep running, the good console echoes both ways;</li>
 *   <li>the hostile console's log holds exactly the bytes it published, in order (a prefix of them when its ring
 *       was disabled): nothing from beyond {@code out_prod}, nothing twice; input it reads honestly is what its client
 *       typed, in order;</li>
 *   <li>a certainly impossible {@code out_prod} or {@code in_cons} stops the console: a secondary one fails
 *       (Closing, error node), a primary one is no longer served;</li>
 *   <li>once the hostile guest is gone, its grants can all be ended (secondary, polite), and dom0's ports, mappings,
 *       counters, sessions, descriptors and threads are back where they were; the heap stays within a bound.</li>
 * </ul>
 */
class ConsoleRingFuzzTest
{
    private static final int GOOD = 2;
    private static final int FIRST_HOSTILE_DOMID = 10;
    private static final long WAIT_MS = 5_000;
    private static final long HEAP_GROWTH_BOUND = 64L << 20;

    @TempDir
    Path dir;

    private final Logger quiet = Logger.getLogger("org.dom0j");
    private Level quietWas;
    private SimMachine machine;
    private SimPlatform platform;
    private XenStore store;
    private GrantTables gnttab;
    private AgentScheduler scheduler;
    private AgentRunner conductorRunner;
    private AgentRunner primaryRunner;
    private ConsoleHub hub;
    private CountersManager counters;
    private final List<Throwable> errors = new CopyOnWriteArrayList<>();
    private XenStore goodStore;
    private SimConsoleFront good;
    private Client goodClient;
    private long goodLines;
    private Baseline baseline;
    /** What became of the hostile consoles. */
    private final java.util.TreeMap<String, Integer> outcomes = new java.util.TreeMap<>();
    private long hostileBytes;

    private record Baseline(int dom0Ports, int mappedPages, int counters, int sessions, ProcessResources process,
        List<String> fds)
    {
    }

    /** A {@code dom0j console} client on a console's socket, read without blocking. */
    private static final class Client implements AutoCloseable
    {
        final SocketChannel channel;
        final ByteArrayOutputStream received = new ByteArrayOutputStream();

        Client(final Path socket) throws IOException
        {
            channel = SocketChannel.open(StandardProtocolFamily.UNIX);
            channel.connect(UnixDomainSocketAddress.of(socket));
            channel.configureBlocking(false);
        }

        void poll() throws IOException
        {
            final ByteBuffer buffer = ByteBuffer.allocate(4096);
            while (channel.read(buffer.clear()) > 0)
            {
                received.write(buffer.array(), 0, buffer.position());
            }
        }

        void type(final byte[] bytes) throws IOException
        {
            final ByteBuffer buffer = ByteBuffer.wrap(bytes);
            while (buffer.hasRemaining())
            {
                channel.write(buffer);
            }
        }

        @Override
        public void close() throws IOException
        {
            channel.close();
        }
    }

    @AfterEach
    void tearDown() throws Exception
    {
        if (null != goodClient)
        {
            goodClient.close();
        }
        if (null != good)
        {
            good.close();
            goodStore.close();
        }
        if (null != conductorRunner)
        {
            conductorRunner.close();
            primaryRunner.close();
            scheduler.close();
            hub.close();
            gnttab.close();
            store.close();
            platform.close();
        }
        if (null != machine)
        {
            machine.close();
        }
        quiet.setLevel(quietWas);
    }

    @Test
    @Timeout(value = 1, unit = TimeUnit.HOURS)
    void shouldSurviveHostileConsolePagesWhileAGoodConsoleEchoes() throws Exception
    {
        quietWas = quiet.getLevel();
        quiet.setLevel(Level.OFF);
        machine = SimMachine.start(dir.resolve("sim"));
        startService();
        final SimDomain goodGuest = machine.createGuest(GOOD, "good", 256);
        XenbusDevices.attach(machine.xenStore(), 0, "console", GOOD, "1", Map.of("protocol", "vt100"),
            Map.of("output", "pty"));
        goodStore = machine.connectAsGuest(GOOD);
        good = SimConsoleFront.connect(goodGuest, goodStore, "1", WAIT_MS);
        goodClient = new Client(ConsoleHub.socketPath(hub.runDirectory(), GOOD, "1"));
        require(Await.until(() -> hub.session(GOOD, "1").clientCount() == 1, WAIT_MS), "the good client attached");

        final FuzzRun run = FuzzRun.configure("console pages", 0xC0_5013L, 80, 6);
        final long[] heapBefore = new long[1];
        final FuzzRun.Summary summary = run.run((in, iteration) ->
        {
            if (null == baseline)
            {
                final ProcessResources process = ProcessResources.withHeap();
                heapBefore[0] = process.heapBytes();
                baseline = new Baseline(dom0Ports(), gnttab.mappedPageCount(), countersAllocated(), hub.openCount(),
                    process, ProcessResources.openFdTargets());
            }
            oneCase(in, FIRST_HOSTILE_DOMID + (int)(iteration % 2000));
        });
        System.out.println("console pages: the good console echoed " + goodLines + " lines both ways meanwhile; " +
            "the hostile consoles published " + hostileBytes + " bytes; they ended " + outcomes);
        if (!run.isReplay())
        {
            final long heapAfter = ProcessResources.withHeap().heapBytes();
            System.out.println("heap after GC: " + (heapBefore[0] >> 10) + " KiB before, " + (heapAfter >> 10) +
                " KiB after");
            require(heapAfter - heapBefore[0] <= HEAP_GROWTH_BOUND, "heap grew by " +
                ((heapAfter - heapBefore[0]) >> 20) + " MiB over " + summary.cases() + " cases");
        }
    }

    private void startService()
    {
        platform = new SimPlatform(machine.host(), 0);
        store = platform.openXenStore();
        gnttab = platform.openGrantTables();
        scheduler = AgentScheduler.eventDriven(TimeUnit.MILLISECONDS.toNanos(1), errors::add);
        hub = new ConsoleHub(dir.resolve("logs"), dir.resolve("run"));
        counters = new CountersManager(new UnsafeBuffer(ByteBuffer.allocateDirect(64 * 1024)),
            new UnsafeBuffer(ByteBuffer.allocateDirect(16 * 1024)));
        final BackendConductor conductor = new BackendConductor(new BackendConductor.Context()
            .platform(platform)
            .xenStore(store)
            .grantTables(gnttab)
            .scheduler(scheduler)
            .countersManager(counters)
            .deviceType(new ConsoleDeviceType(hub)));
        conductorRunner = new AgentRunner(new BackoffIdleStrategy(10, 20, 1000, 1_000_000), errors::add, null,
            conductor);
        final PrimaryConsoles primaries = new PrimaryConsoles(platform, store, gnttab, hub, true);
        primaryRunner = new AgentRunner(new EventChannelIdleStrategy(primaries.eventChannels(), 10, 10, 1_000_000),
            errors::add, null, primaries);
        AgentRunner.startOnThread(conductorRunner);
        AgentRunner.startOnThread(primaryRunner);
    }

    /**
     * A hostile console: its page (granted to dom0) and port, set up as hvc_xen or the domain builder would, and what
     * it published and read.
     */
    private final class HostileConsole implements AutoCloseable
    {
        final int domid;
        final SimDomain guest;
        final boolean primary;
        final String devid;
        final UnsafeBuffer page;
        final int ref;
        final EventChannels evtchn;
        final int port;
        final ByteArrayOutputStream published = new ByteArrayOutputStream();
        final ByteArrayOutputStream typed = new ByteArrayOutputStream();
        final ByteArrayOutputStream read = new ByteArrayOutputStream();
        int outProd;
        int inCons;
        boolean wild;
        /** An impossible out_prod was published. */
        boolean certainlyWild;
        /** An impossible in_cons was published, and input was typed since. */
        boolean inCertainlyWild;
        /** Input was read dishonestly: what it read says nothing. */
        boolean inputWild;
        boolean outConsScribbled;
        boolean clientCut;
        boolean inProdScribbled;

        HostileConsole(final SimDomain guest, final boolean primary, final Hostile in)
        {
            this.domid = guest.domid();
            this.guest = guest;
            this.primary = primary;
            this.devid = primary ? null : "1";
            final int frame = guest.allocatePage();
            page = guest.page(frame);
            page.setMemory(0, page.capacity(), (byte)0);
            // Start anywhere, wrap-around at 2^32 included.
            final int start = in.chance(30) ? -in.nextInt(3000) : in.nextInt();
            page.putInt(OUT_PROD_OFFSET, start);
            page.putInt(OUT_CONS_OFFSET, start);
            final int inStart = in.nextInt();
            page.putInt(IN_PROD_OFFSET, inStart);
            page.putInt(IN_CONS_OFFSET, inStart);
            outProd = start;
            inCons = inStart;
            ref = guest.grantAccess(0, frame, false);
            evtchn = guest.openEventChannels();
            port = evtchn.bindUnboundPort(0);
        }

        /** Offers the page: hvc_xen's handshake for a secondary console, the toolstack's keys for a primary one. */
        void connect(final XenStore xs) throws InterruptedException
        {
            if (primary)
            {
                final String dir = "/local/domain/" + domid + "/console";
                machine.xenStore().transaction(tx ->
                {
                    tx.write(dir + "/type", "xenconsoled");
                    tx.write(dir + "/output", "pty");
                    tx.write(dir + "/ring-ref", Integer.toString(ref));
                    tx.write(dir + "/port", Integer.toString(port));
                    return null;
                });
                require(Await.until(() -> null != hub.session(domid, null), WAIT_MS), "the primary console served");
                // Its session comes before its ring is attached (at the out_cons published then): a first line,
                // taken, says the ring is there, before this guest scribbles on out_cons.
                final byte[] hello = ("hostile " + domid + "\n").getBytes(StandardCharsets.US_ASCII);
                for (final byte b : hello)
                {
                    page.putByte(outOffset(outProd++), b);
                }
                published.write(hello, 0, hello.length);
                page.putIntRelease(OUT_PROD_OFFSET, outProd);
                notifyBackend();
                require(Await.until(() -> page.getIntVolatile(OUT_CONS_OFFSET) == outProd, WAIT_MS),
                    "the primary console takes its first line");
                return;
            }
            final String fe = "/local/domain/" + domid + "/device/console/1";
            require(Await.until(() -> "2".equals(backendState()), WAIT_MS), "backend reaches InitWait");
            xs.transaction(tx ->
            {
                tx.write(fe + "/ring-ref", Integer.toString(ref));
                tx.write(fe + "/port", Integer.toString(port));
                tx.write(fe + "/state", "3");
                return null;
            });
            require(Await.until(() -> "4".equals(backendState()), WAIT_MS), "backend connects");
            xs.write(fe + "/state", "4");
        }

        void notifyBackend()
        {
            evtchn.notify(port);
            int fired;
            while ((fired = evtchn.pending()) >= 0)
            {
                evtchn.unmask(fired);
            }
        }

        String backendState()
        {
            return machine.xenStore().readOrNull(backendPath() + "/state");
        }

        boolean stopped()
        {
            return primary ? null == hub.session(domid, null) : "5".equals(backendState());
        }

        String backendPath()
        {
            return XenbusDevices.backendPath(0, "console", domid, "1");
        }

        Path log()
        {
            return ConsoleHub.logPath(hub.logDirectory(), "hostile" + domid, domid, devid);
        }

        @Override
        public void close()
        {
            evtchn.close();
        }
    }

    private void oneCase(final Hostile in, final int domid) throws Exception
    {
        final boolean primary = in.chance(40);
        final SimDomain guest = machine.createGuest(domid, "hostile" + domid, 64);
        XenStore xs = null;
        HostileConsole hostile = null;
        Client client = null;
        try
        {
            if (!primary)
            {
                XenbusDevices.attach(machine.xenStore(), 0, "console", domid, "1", Map.of("protocol", "vt100"),
                    Map.of("output", "pty"));
                xs = machine.connectAsGuest(domid);
            }
            hostile = new HostileConsole(guest, primary, in);
            hostile.connect(xs);
            if (in.chance(40))
            {
                client = new Client(ConsoleHub.socketPath(hub.runDirectory(), domid, hostile.devid));
            }
            attack(in, hostile, client);
            judge(hostile);
            leave(in, hostile, xs);
            xs = null;
        }
        finally
        {
            if (null != client)
            {
                client.close();
            }
            if (null != hostile)
            {
                hostile.close();
            }
            if (null != xs)
            {
                xs.close();
            }
            if (machine.host().exists(domid))
            {
                machine.destroyGuest(domid);
            }
        }
        requireBackToBaseline(domid);
        echoGood(in);
    }

    private void attack(final Hostile in, final HostileConsole h, final Client client) throws Exception
    {
        final int rounds = in.between(1, 20);
        for (int r = 0; r < rounds && !h.certainlyWild && !h.inCertainlyWild; r++)
        {
            final int action = in.nextInt(100);
            if (action < 45 && !h.wild && !h.outConsScribbled)
            {
                // Honest output: what fits, published after the bytes.
                final int cons = h.page.getIntVolatile(OUT_CONS_OFFSET);
                final int room = OUT_SIZE - (h.outProd - cons);
                final byte[] bytes = in.bytes(Math.min(room, in.chance(70) ? in.between(1, 200) : OUT_SIZE));
                for (final byte b : bytes)
                {
                    h.page.putByte(outOffset(h.outProd++), b);
                }
                h.published.write(bytes);
                h.page.putIntRelease(OUT_PROD_OFFSET, h.outProd);
                if (in.chance(90))
                {
                    h.notifyBackend();
                }
            }
            else if (action < 55 && !h.outConsScribbled)
            {
                // Junk in out[] beyond what was published (and within what was taken): never output.
                final int cons = h.page.getIntVolatile(OUT_CONS_OFFSET);
                final int free = OUT_SIZE - (h.outProd - cons);
                for (int i = 0; i < Math.min(free, in.between(1, 64)); i++)
                {
                    h.page.putByte(outOffset(h.outProd + i), (byte)in.nextInt(256));
                }
            }
            else if (action < 62)
            {
                // The backend's own indices: it keeps them privately. This guest no longer knows how much room it
                // has, or how much input there is, so it writes no more output, or reads no more input.
                if (in.nextBoolean())
                {
                    h.page.putIntRelease(OUT_CONS_OFFSET, in.interestingInt());
                    h.outConsScribbled = true;
                }
                else
                {
                    h.page.putIntRelease(IN_PROD_OFFSET, in.interestingInt());
                    h.inputWild = true;
                    h.inProdScribbled = true;
                }
                h.notifyBackend();
            }
            else if (action < 70)
            {
                for (int i = in.between(20, 300); i > 0; i--)
                {
                    h.notifyBackend();
                }
            }
            else if (action < 80 && null != client && !h.clientCut)
            {
                type(h, client, in.bytes(in.between(1, 300)));
            }
            else if (action < 90)
            {
                readInput(in, h);
            }
            else if (action < 94)
            {
                final int cons = h.page.getIntVolatile(OUT_CONS_OFFSET);
                final int prod = in.wildIndex(cons, OUT_SIZE);
                h.page.putIntRelease(OUT_PROD_OFFSET, prod);
                h.wild = true;
                // Against a scribbled out_cons nothing is certain: the backend's own may be anywhere.
                h.certainlyWild |= !h.outConsScribbled && Hostile.certainlyOverflows(prod, cons, OUT_SIZE);
                h.notifyBackend();
            }
            else
            {
                // An in_cons the backend cannot have produced: it must stop when it next writes input.
                final int prod = h.page.getIntVolatile(IN_PROD_OFFSET);
                final int cons = prod - IN_SIZE - 1 - in.nextInt(1 << 20);
                h.page.putIntRelease(IN_CONS_OFFSET, cons);
                h.inputWild = true;
                h.notifyBackend();
                if (null != client && !h.clientCut)
                {
                    type(h, client, new byte[]{ 'x' });
                    h.inCertainlyWild = !h.clientCut && !h.inProdScribbled;
                }
            }
            Thread.sleep(in.chance(50) ? 2 : 0);
            goodStep();
        }
    }

    /** Types at a hostile console; its session (and so the client's socket) goes only when the console stops. */
    private static void type(final HostileConsole h, final Client client, final byte[] bytes) throws Exception
    {
        try
        {
            client.type(bytes);
            h.typed.write(bytes);
        }
        catch (final IOException ex)
        {
            h.clientCut = true;
            require(Await.until(h::stopped, WAIT_MS), "the client of a console still served was cut off: " + ex);
        }
    }

    private static void readInput(final Hostile in, final HostileConsole h)
    {
        if (h.inputWild)
        {
            return;
        }
        final int prod = h.page.getIntVolatile(IN_PROD_OFFSET);
        if (Integer.compareUnsigned(prod - h.inCons, IN_SIZE) > 0)
        {
            // The guest scribbled in_prod: nothing to believe there.
            return;
        }
        final int n = Math.min(prod - h.inCons, in.between(1, IN_SIZE));
        for (int i = 0; i < n; i++)
        {
            h.read.write(h.page.getByte(inOffset(h.inCons++)));
        }
        h.page.putIntRelease(IN_CONS_OFFSET, h.inCons);
        h.notifyBackend();
    }

    private void judge(final HostileConsole h) throws Exception
    {
        if (h.certainlyWild || h.inCertainlyWild)
        {
            require(Await.until(h::stopped, WAIT_MS), "an impossible index stops the " +
                (h.primary ? "primary" : "secondary") + " console" + describe(h));
            if (!h.primary)
            {
                final String error = machine.xenStore().readOrNull("/local/domain/0/error/backend/console/" +
                    h.domid + "/1/error");
                require(null != error && error.contains("ring protocol violation"), "the error node says why: " +
                    error);
            }
        }
        final byte[] expected = h.published.toByteArray();
        final String what = "the " + (h.primary ? "primary" : "secondary") + " console's log";
        if (!h.wild)
        {
            // Everything published is taken, whole and in order.
            Await.until(() -> Arrays.equals(contents(h.log()), expected) || h.stopped(), WAIT_MS);
            final byte[] log = contents(h.log());
            if (h.stopped())
            {
                require(h.inputWild, "a console that broke no rule was stopped");
                require(isPrefix(log, expected), what + " holds " + log.length + " bytes, not a prefix of the " +
                    expected.length + " published" + firstDifference(log, expected));
            }
            else
            {
                require(Arrays.equals(log, expected), what + " holds " + log.length + " bytes, not the " +
                    expected.length + " published" + firstDifference(log, expected));
            }
        }
        else
        {
            // Past a wild out_prod the backend takes what lies in out[], or stops: what was published before comes
            // first either way.
            Thread.sleep(5);
            final byte[] log = contents(h.log());
            require(isPrefix(log, expected) || isPrefix(expected, log), what + " holds " + log.length +
                " bytes that do not begin as the " + expected.length + " published" + firstDifference(log, expected));
            if (h.certainlyWild)
            {
                require(isPrefix(log, expected), what + " holds bytes from beyond an impossible out_prod");
            }
        }
        hostileBytes += h.published.size();
        outcomes.merge((h.primary ? "primary " : "secondary ") + (h.stopped() ? "stopped" : "served") +
            (h.certainlyWild || h.inCertainlyWild ? " (impossible index)" : h.wild ? " (wild index)" : ""), 1,
            Integer::sum);
        if (!h.inputWild)
        {
            readInput(new Hostile(1), h);
            require(isPrefix(h.read.toByteArray(), h.typed.toByteArray()), "the input the guest read is not what " +
                "its client typed: read " + h.read.size() + " bytes of " + h.typed.size() +
                firstDifference(h.read.toByteArray(), h.typed.toByteArray()));
        }
    }

    private void leave(final Hostile in, final HostileConsole h, final XenStore xs) throws Exception
    {
        if (!h.primary && in.nextBoolean())
        {
            final String fe = "/local/domain/" + h.domid + "/device/console/1";
            xs.write(fe + "/state", "5");
            require(Await.until(() -> List.of("5", "6").contains(machine.xenStore().readOrNull(
                h.backendPath() + "/state")), WAIT_MS), "backend closing after the frontend");
            xs.write(fe + "/state", "6");
            require(Await.until(() -> "6".equals(machine.xenStore().readOrNull(h.backendPath() + "/state")),
                WAIT_MS), "backend closed after the frontend");
            require(Await.until(() ->
            {
                try
                {
                    h.guest.endAccess(h.ref);
                    return true;
                }
                catch (final RuntimeException ex)
                {
                    return false;
                }
            }, WAIT_MS), "the console page still mapped by dom0 after it closed");
        }
        if (null != xs)
        {
            xs.close();
        }
        h.close();
        machine.destroyGuest(h.domid);
    }

    private void requireBackToBaseline(final int domid) throws InterruptedException
    {
        final boolean back = Await.until(() -> null == machine.xenStore().readOrNull(
            XenbusDevices.backendPath(0, "console", domid, "1") + "/state") && null == hub.session(domid, null) &&
            dom0Ports() == baseline.dom0Ports() && gnttab.mappedPageCount() == baseline.mappedPages() &&
            countersAllocated() == baseline.counters() && hub.openCount() == baseline.sessions() &&
            ProcessResources.now().backTo(baseline.process()), WAIT_MS);
        require(back, "service back to its baseline after the hostile guest left: dom0 ports " + dom0Ports() +
            " (was " + baseline.dom0Ports() + "), pages mapped " + gnttab.mappedPageCount() + " (was " +
            baseline.mappedPages() + "), counters " + countersAllocated() + " (was " + baseline.counters() +
            "), sessions " + hub.openCount() + " (was " + baseline.sessions() + "), " + ProcessResources.now() +
            " (was " + baseline.process() + "), new descriptors " + ProcessResources.newFdTargets(baseline.fds()));
        require(errors.isEmpty(), "an agent threw: " + errors);
        require(conductorRunner.thread().isAlive() && primaryRunner.thread().isAlive(), "both agents run");
    }

    /** One line out of the good console to its client, one line in from the client. */
    private void echoGood(final Hostile in) throws Exception
    {
        final String out = "out-" + goodLines + "-" + in.nextInt(1000) + "\n";
        good.writeFully(out, WAIT_MS);
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
        while (!goodClient.received.toString(StandardCharsets.US_ASCII).endsWith(out))
        {
            require(System.nanoTime() < deadline, "the good console's output did not reach its client: " +
                goodClient.received.toString(StandardCharsets.US_ASCII));
            goodClient.poll();
            Thread.sleep(1);
        }
        goodClient.received.reset();
        final String typed = "in-" + goodLines + "\r";
        goodClient.type(typed.getBytes(StandardCharsets.US_ASCII));
        require(good.readUntil(typed, WAIT_MS).endsWith(typed), "the good console's input");
        goodLines++;
    }

    private void goodStep() throws IOException
    {
        goodClient.poll();
    }

    private int dom0Ports()
    {
        return machine.host().domain(0).boundPortCount();
    }

    private int countersAllocated()
    {
        final int[] n = new int[1];
        counters.forEach((value, id, label) -> n[0]++);
        return n[0];
    }

    private static byte[] contents(final Path file)
    {
        try
        {
            return Files.exists(file) ? Files.readAllBytes(file) : new byte[0];
        }
        catch (final IOException ex)
        {
            return new byte[0];
        }
    }

    private static boolean isPrefix(final byte[] prefix, final byte[] whole)
    {
        return prefix.length <= whole.length && Arrays.equals(prefix, 0, prefix.length, whole, 0, prefix.length);
    }

    private String describe(final HostileConsole h)
    {
        return " (out_prod " + Integer.toUnsignedString(h.page.getIntVolatile(OUT_PROD_OFFSET)) + ", out_cons " +
            Integer.toUnsignedString(h.page.getIntVolatile(OUT_CONS_OFFSET)) + ", in_prod " +
            Integer.toUnsignedString(h.page.getIntVolatile(IN_PROD_OFFSET)) + ", in_cons " +
            Integer.toUnsignedString(h.page.getIntVolatile(IN_CONS_OFFSET)) + "; impossible out_prod " +
            h.certainlyWild + ", impossible in_cons " + h.inCertainlyWild + ", wild out_prod before " + h.wild +
            ", typed " + h.typed.size() + ", backend state " + h.backendState() + ")";
    }

    private static String firstDifference(final byte[] a, final byte[] b)
    {
        final int at = Arrays.mismatch(a, b);
        int same = 0;
        while (at >= 0 && at + same < Math.min(a.length, b.length) && a[at + same] != b[at + same])
        {
            same++;
        }
        return at < 0 ? "" : "; first difference at byte " + at + ": " + hex(a, at) + " instead of " + hex(b, at) +
            " (" + same + " bytes differ from there)";
    }

    private static String hex(final byte[] bytes, final int from)
    {
        final StringBuilder text = new StringBuilder();
        for (int i = from; i < Math.min(bytes.length, from + 12); i++)
        {
            text.append(String.format("%02x", bytes[i] & 0xFF));
        }
        return text.length() == 0 ? "(end)" : text.toString();
    }

    private static void require(final boolean condition, final String what)
    {
        if (!condition)
        {
            throw new AssertionError(what);
        }
    }
}
