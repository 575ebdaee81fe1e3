package org.dom0j.ring;

import org.agrona.IoUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Differential conformance against Xen's own ring macros: {@code ringpeer.c}, compiled here from
 * {@code /usr/include/xen/io/ring.h}, works the same ring file in {@code /dev/shm} as the Java rings, as the
 * frontend (Java backend) and as the backend (Java frontend), in lock step. Every step's decision (how many entries
 * were produced or taken, the notify decision of each push, the work-to-do of each final check, the published
 * indices, a hash of every copied entry) must equal what C does on both ends, and the ring's bytes at the end must be
 * identical. Indices start just below 2^32 so every run crosses the wrap.
 * <p>
 * Skipped, with the reason, only when gcc or the Xen header is missing.
 */
@Timeout(120)
class RingConformanceTest
{
    @TempDir
    static Path buildDir;

    private static Path peer;
    private static Path shmDir;

    @BeforeAll
    static void build() throws Exception
    {
        final String missing = CRingPeer.missingPrerequisite();
        assumeTrue(missing == null, "C ring conformance skipped: " + missing);
        peer = CRingPeer.compile(buildDir);
        shmDir = Files.createDirectories(Path.of("/dev/shm", "dom0j-test-" + Long.toHexString(
            ThreadLocalRandom.current().nextLong())));
    }

    @AfterAll
    static void cleanUp() throws IOException
    {
        if (shmDir != null && Files.exists(shmDir))
        {
            try (Stream<Path> files = Files.walk(shmDir))
            {
                for (final Path p : files.sorted(Comparator.reverseOrder()).toList())
                {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    @Test
    void shouldLayOutTheSharedRingAsXensHeader() throws Exception
    {
        final List<String> lines = CRingPeer.runToEnd(peer, "layout");

        assertThat(lines).containsExactly(
            "req_prod=" + SharedRingDescriptor.REQ_PROD_OFFSET +
            " req_event=" + SharedRingDescriptor.REQ_EVENT_OFFSET +
            " rsp_prod=" + SharedRingDescriptor.RSP_PROD_OFFSET +
            " rsp_event=" + SharedRingDescriptor.RSP_EVENT_OFFSET +
            " pvt=" + SharedRingDescriptor.PVT_OFFSET +
            " pad=" + SharedRingDescriptor.PAD_OFFSET +
            " ring=" + SharedRingDescriptor.ENTRIES_OFFSET +
            " blk_req=" + JavaRingPeer.BLK_REQUEST_LENGTH +
            " blk_rsp=" + JavaRingPeer.BLK_RESPONSE_LENGTH +
            " blk_slot=" + SharedRingDescriptor.slotLength(JavaRingPeer.BLK_REQUEST_LENGTH,
                JavaRingPeer.BLK_RESPONSE_LENGTH) +
            " small_req=" + JavaRingPeer.SMALL_REQUEST_LENGTH +
            " small_rsp=" + JavaRingPeer.SMALL_RESPONSE_LENGTH +
            " small_slot=" + SharedRingDescriptor.slotLength(JavaRingPeer.SMALL_REQUEST_LENGTH,
                JavaRingPeer.SMALL_RESPONSE_LENGTH));
    }

    @Test
    void shouldSizeRingsAsConstRingSizeForOneToSixteenPages() throws Exception
    {
        final List<String> expected = new ArrayList<>();
        for (int pages = 1; pages <= SharedRingDescriptor.MAX_RING_PAGES; pages++)
        {
            expected.add("pages=" + pages +
                " blk=" + RingLayout.of(JavaRingPeer.BLK_REQUEST_LENGTH, JavaRingPeer.BLK_RESPONSE_LENGTH, pages)
                .size() +
                " small=" + RingLayout.of(JavaRingPeer.SMALL_REQUEST_LENGTH, JavaRingPeer.SMALL_RESPONSE_LENGTH,
                pages).size());
        }

        assertThat(CRingPeer.runToEnd(peer, "sizes")).containsExactlyElementsOf(expected);
    }

    static Stream<Arguments> differentialCases()
    {
        return Stream.of(
            Arguments.of("blk", 1, 1L),
            Arguments.of("blk", 1, 0x5eed_0002L),
            Arguments.of("blk", 4, 3L),
            Arguments.of("small", 1, 4L),
            Arguments.of("small", 16, 5L),
            Arguments.of("blk", 16, 6L));
    }

    @ParameterizedTest(name = "{0} ring, {1} page(s), seed {2}")
    @MethodSource("differentialCases")
    void shouldDecideEveryStepAsXensMacrosInBothDirections(final String kind, final int pages, final long seed)
        throws Exception
    {
        final int size = ringSize(kind, pages);
        final List<String> script = randomScript(new Random(seed), size);
        System.out.println("ring conformance seed " + seed + " (" + kind + ", " + pages + " pages)");

        final Run reference = run(kind, pages, script, true, true);
        final Run cFrontJavaBack = run(kind, pages, script, true, false);
        final Run javaFrontCBack = run(kind, pages, script, false, true);
        final Run javaOnly = run(kind, pages, script, false, false);

        assertThat(reference.transcript).noneMatch((line) -> line.contains("error") || line.contains("overflow"));
        assertThat(reference.transcript).anyMatch((line) -> line.startsWith("bpush notify=1"))
            .anyMatch((line) -> line.startsWith("bpush notify=0"))
            .anyMatch((line) -> line.startsWith("fpush notify=1"))
            .anyMatch((line) -> line.startsWith("fpush notify=0"))
            .anyMatch((line) -> line.startsWith("bfinal work=1"))
            .anyMatch((line) -> line.startsWith("bfinal work=0"));
        assertSameTranscript(seed, script, reference, cFrontJavaBack, "C front / Java back");
        assertSameTranscript(seed, script, reference, javaFrontCBack, "Java front / C back");
        assertSameTranscript(seed, script, reference, javaOnly, "Java front / Java back");
        assertThat(cFrontJavaBack.ring).as("ring bytes, C front / Java back").isEqualTo(reference.ring);
        assertThat(javaFrontCBack.ring).as("ring bytes, Java front / C back").isEqualTo(reference.ring);
        assertThat(javaOnly.ring).as("ring bytes, Java only").isEqualTo(reference.ring);
        assertThat(wrapped(reference)).as("the run crossed 2^32").isTrue();
    }

    static Stream<Arguments> concurrentCases()
    {
        return Stream.of(
            Arguments.of("small", 1, "front"),
            Arguments.of("small", 1, "back"),
            Arguments.of("blk", 1, "front"),
            Arguments.of("blk", 1, "back"),
            Arguments.of("blk", 4, "front"),
            Arguments.of("small", 16, "back"));
    }

    /**
     * Not lock step: the C end (Xen's macros, spinning) and the Java end run at the same time on the same pages,
     * so every entry crosses between processes under real races; each side checks every entry it takes against
     * what the other must have written (a torn or early read shows as a bad entry).
     */
    @ParameterizedTest(name = "{0} ring, {1} page(s), C {2}")
    @MethodSource("concurrentCases")
    void shouldExchangeEveryEntryIntactWithXensMacrosRunningConcurrently(
        final String kind, final int pages, final String cRole) throws Exception
    {
        final int count = 100_000;
        final int start = -1 - 777;
        final Path file = shmDir.resolve("stress-" + kind + "-" + pages + "-" + cRole);
        MappedByteBuffer mapped = null;
        try (FileChannel channel = FileChannel.open(
            file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE))
        {
            mapped = channel.map(FileChannel.MapMode.READ_WRITE, 0, (long)pages * SharedRingDescriptor.PAGE_SIZE);
        }
        Process c = null;
        try
        {
            final UnsafeBuffer ring = new UnsafeBuffer(mapped);
            final JavaRingPeer java = new JavaRingPeer(kind, pages, ring);
            java.front().init(start);
            java.back().attach(start);
            c = new ProcessBuilder(peer.toString(), "stress", file.toString(), kind, Integer.toString(pages), cRole,
                Integer.toUnsignedString(start), Integer.toString(count))
                .redirectErrorStream(true)
                .start();
            int done = 0;
            int produced = 0;
            while (done < count)
            {
                final int progress;
                if ("front".equals(cRole))
                {
                    progress = java.backStep();
                    done += progress;
                }
                else
                {
                    final long step = java.frontStep(count - produced);
                    produced += (int)(step >>> 32);
                    done += (int)step;
                    progress = (int)(step >>> 32) + (int)step;
                }
                if (progress == 0)
                {
                    if (!c.isAlive())
                    {
                        throw new AssertionError("ringpeer stress exited early: " +
                            new String(c.getInputStream().readAllBytes(), StandardCharsets.US_ASCII));
                    }
                    Thread.yield();
                }
            }
            final String out = new String(c.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
            assertThat(c.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(out).isEqualTo(cRole + " done n=" + count + " bad=0");
            assertThat(java.bad()).as("entries the Java end found torn or wrong").isZero();
        }
        finally
        {
            if (c != null)
            {
                c.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            IoUtil.unmap(mapped);
            Files.deleteIfExists(file);
        }
    }

    static Stream<Arguments> hostileCases()
    {
        return Stream.of(
            Arguments.of("pokereqprod", "bconsume", "size+1", true),
            Arguments.of("pokereqprod", "bconsume", "size", false),
            Arguments.of("pokereqprod", "bconsume", "-1", true),
            Arguments.of("pokereqprod", "bconsume", "-2147483648", true),
            Arguments.of("pokerspprod", "fconsume", "size+1", true),
            Arguments.of("pokerspprod", "fconsume", "-1", true));
    }

    @ParameterizedTest(name = "{0} {2} then {1}: overflow {3}")
    @MethodSource("hostileCases")
    void shouldDetectProducerOverflowAsXensMacros(
        final String poke, final String check, final String delta, final boolean overflow) throws Exception
    {
        final int size = ringSize("blk", 1);
        final int d = delta.startsWith("size") ? size + (delta.endsWith("+1") ? 1 : 0) : Integer.parseInt(delta);
        final String start = Integer.toUnsignedString(-3);
        final List<String> script = List.of(
            "init " + start, "attach " + start, "fproduce 5", "fpush", "bconsume 5", "brespond 5", "bpush",
            "fconsume 5", poke + " " + d, check + " " + (size + 5));

        final Run reference = run("blk", 1, script, true, true);
        final Run cFrontJavaBack = run("blk", 1, script, true, false);
        final Run javaFrontCBack = run("blk", 1, script, false, true);

        assertThat(reference.transcript.get(script.size() - 1).endsWith("overflow")).isEqualTo(overflow);
        assertSameTranscript(0, script, reference, cFrontJavaBack, "C front / Java back");
        assertSameTranscript(0, script, reference, javaFrontCBack, "Java front / C back");
    }

    static Stream<Arguments> eventGames()
    {
        final List<Arguments> cases = new ArrayList<>();
        for (int batch = 0; batch <= 3; batch++)
        {
            for (int delta = -3; delta <= 5; delta++)
            {
                cases.add(Arguments.of(batch, delta));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "batch {0}, event at prod{1}")
    @MethodSource("eventGames")
    void shouldDecideNotifyForEveryEventIndexAsXensMacros(final int batch, final int delta) throws Exception
    {
        final String start = Integer.toUnsignedString(-2);
        final List<String> script = List.of(
            "init " + start, "attach " + start, "fproduce 4", "fpush",
            "pokereqevent " + delta, "fproduce " + batch, "fpush",
            "bconsume 9", "pokerspevent " + delta, "brespond " + batch, "bpush",
            "brespond 9", "pokerspevent " + delta, "bpush");

        final Run reference = run("small", 1, script, true, true);
        final Run cFrontJavaBack = run("small", 1, script, true, false);
        final Run javaFrontCBack = run("small", 1, script, false, true);

        assertSameTranscript(0, script, reference, cFrontJavaBack, "C front / Java back");
        assertSameTranscript(0, script, reference, javaFrontCBack, "Java front / C back");
    }

    private static int ringSize(final String kind, final int pages)
    {
        return "blk".equals(kind) ?
            RingLayout.of(JavaRingPeer.BLK_REQUEST_LENGTH, JavaRingPeer.BLK_RESPONSE_LENGTH, pages).size() :
            RingLayout.of(JavaRingPeer.SMALL_REQUEST_LENGTH, JavaRingPeer.SMALL_RESPONSE_LENGTH, pages).size();
    }

    /**
     * A legal but irregular session: batches of every size up to past the ring's capacity, pushes that sometimes
     * lag, responses answered in bits, final checks at odd moments; starting within two rings' worth of 2^32.
     */
    static List<String> randomScript(final Random random, final int size)
    {
        final List<String> script = new ArrayList<>();
        final int start = -1 - random.nextInt(2 * size);
        script.add("init " + Integer.toUnsignedString(start));
        script.add("attach " + Integer.toUnsignedString(start));
        final int steps = 300 + 6 * size;
        for (int i = 0; i < steps; i++)
        {
            final int n = 1 + random.nextInt(size + 2);
            final int r = random.nextInt(100);
            if (r < 25)
            {
                script.add("fproduce " + n);
            }
            else if (r < 40)
            {
                script.add("fpush");
            }
            else if (r < 55)
            {
                script.add("bconsume " + n);
            }
            else if (r < 70)
            {
                script.add("brespond " + n);
            }
            else if (r < 80)
            {
                script.add("bpush");
            }
            else if (r < 87)
            {
                script.add("bfinal");
            }
            else if (r < 93)
            {
                script.add("fconsume " + n);
            }
            else if (r < 96)
            {
                script.add("ffinal");
            }
            else
            {
                // A peer may put its event index anywhere (to batch notifications); decisions must still agree.
                script.add((random.nextBoolean() ? "pokereqevent " : "pokerspevent ") + (random.nextInt(8) - 3));
            }
        }
        return script;
    }

    private static final class Run
    {
        final List<String> transcript = new ArrayList<>();
        byte[] ring;
    }

    private static Run run(
        final String kind, final int pages, final List<String> script, final boolean cFront, final boolean cBack)
        throws IOException
    {
        final int bytes = pages * SharedRingDescriptor.PAGE_SIZE;
        final Path file = shmDir.resolve(kind + "-" + pages + "-" + (cFront ? "cf" : "jf") + (cBack ? "cb" : "jb"));
        Files.deleteIfExists(file);
        final Run result = new Run();
        MappedByteBuffer mapped = null;
        try (FileChannel channel = FileChannel.open(
            file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE))
        {
            mapped = channel.map(FileChannel.MapMode.READ_WRITE, 0, bytes);
        }
        final UnsafeBuffer ring = new UnsafeBuffer(mapped);
        final JavaRingPeer java = new JavaRingPeer(kind, pages, ring);
        try (CRingPeer c = (cFront || cBack) ? CRingPeer.start(peer, file, kind, pages) : null)
        {
            for (final String command : script)
            {
                final boolean front = command.startsWith("f") || command.startsWith("init");
                final boolean back = command.startsWith("b") || command.startsWith("attach");
                final String answer;
                if (command.startsWith("poke"))
                {
                    answer = poke(ring, command);
                }
                else if ((front && cFront) || (back && cBack))
                {
                    answer = c.execute(command);
                }
                else
                {
                    answer = java.execute(command);
                }
                result.transcript.add(answer);
            }
            result.ring = new byte[bytes];
            ring.getBytes(0, result.ring);
            result.transcript.add("java bad=" + java.bad());
        }
        finally
        {
            IoUtil.unmap(mapped);
            Files.deleteIfExists(file);
        }
        return result;
    }

    private static String poke(final UnsafeBuffer ring, final String command)
    {
        final String[] words = command.split(" ");
        final int delta = Integer.parseInt(words[1]);
        switch (words[0])
        {
            case "pokereqprod":
                ring.putIntVolatile(SharedRingDescriptor.REQ_PROD_OFFSET,
                    ring.getIntVolatile(SharedRingDescriptor.RSP_PROD_OFFSET) + delta);
                break;
            case "pokerspprod":
                ring.putIntVolatile(SharedRingDescriptor.RSP_PROD_OFFSET,
                    ring.getIntVolatile(SharedRingDescriptor.RSP_PROD_OFFSET) + delta);
                break;
            case "pokereqevent":
                ring.putIntVolatile(SharedRingDescriptor.REQ_EVENT_OFFSET,
                    ring.getIntVolatile(SharedRingDescriptor.REQ_PROD_OFFSET) + delta);
                break;
            case "pokerspevent":
                ring.putIntVolatile(SharedRingDescriptor.RSP_EVENT_OFFSET,
                    ring.getIntVolatile(SharedRingDescriptor.RSP_PROD_OFFSET) + delta);
                break;
            default:
                throw new IllegalArgumentException(command);
        }
        return "poke ok";
    }

    private static boolean wrapped(final Run run)
    {
        final String last = run.transcript.stream().filter((l) -> l.startsWith("fpush")).reduce((a, b) -> b)
            .orElse("req_prod=4294967295");
        final long reqProd = Long.parseLong(last.substring(last.indexOf("req_prod=") + 9));
        return reqProd < 1L << 31;
    }

    private static void assertSameTranscript(
        final long seed, final List<String> script, final Run expected, final Run actual, final String pairing)
    {
        for (int i = 0; i < script.size(); i++)
        {
            assertThat(actual.transcript.get(i))
                .as("seed %d, %s, step %d \"%s\"", seed, pairing, i, script.get(i))
                .isEqualTo(expected.transcript.get(i));
        }
    }
}
