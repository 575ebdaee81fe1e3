package org.dom0j.cli;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.MessageHandler;
import org.agrona.concurrent.ShutdownSignalBarrier;
import org.dom0j.netback.CaptureRing;
import org.dom0j.platform.PlatformEnvironment;
import org.dom0j.sim.SimPlatformProvider;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;

/**
 * {@code dom0j capture vif<domid>.<handle>}: a vif's frames as its guest sees them (what it sends and what it
 * receives), from a running {@code dom0j serve}, as pcap ({@code -w FILE}, or {@code -w -} for standard output, for
 * tshark and Wireshark) or as one line per frame. It creates a ring in serve's capture directory, which serve
 * notices and fills; while it runs, that vif's frames are copied whole on their way (no copy by reference). A large
 * frame the guest sent just as the capture began may already be on its way by reference: it is captured up to its
 * local bytes (its headers), with its whole length, as pcap records a frame cut by the snap length.
 */
@Command(
    name = "capture",
    description = "Capture a vif's frames from a running 'dom0j serve' as pcap (or one line per frame).",
    footer = {
        "",
        "Examples:",
        "  dom0j capture vif3.0                        one line per frame until Ctrl-C",
        "  dom0j capture vif3.0 -w vif3.pcap -c 100    100 frames into a pcap file",
        "  dom0j capture vif3.0 -w - | tshark -r -     straight into tshark" })
final class CaptureCommand implements Callable<Integer>
{
    static final Path XEN_CAPTURE_DIRECTORY = Path.of("/run/dom0j/capture");
    private static final Pattern VIF = Pattern.compile("vif\\d{1,5}\\.\\d{1,5}");
    private static final int PCAP_NANOSECOND_MAGIC = 0xA1B23C4D;
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSSSSS", Locale.ROOT)
        .withZone(ZoneOffset.UTC);

    @ParentCommand
    private Dom0j root;

    @Spec
    private CommandSpec spec;

    @Parameters(paramLabel = "VIF", description = "The vif, vif<domid>.<handle>, e.g. vif3.0.")
    private String vif;

    @Option(names = { "-w", "--write" }, paramLabel = "FILE|-",
        description = "Write pcap to FILE, or to standard output with '-' (default: one line per frame).")
    private String write;

    @Option(names = { "-c", "--count" }, paramLabel = "N", description = "Stop after N frames.")
    private Long count;

    @Option(names = "--seconds", paramLabel = "S", description = "Stop after S seconds.")
    private Double seconds;

    @Option(names = "--snaplen", paramLabel = "BYTES", defaultValue = "65535",
        description = "Bytes kept of each frame. Default: ${DEFAULT-VALUE}.")
    private int snaplen;

    @Option(names = "--capture-dir", paramLabel = "DIR",
        description = "serve's capture directory (default: capture in the simulator's directory, or " +
            "/run/dom0j/capture).")
    private Path captureDirectory;

    @Override
    public Integer call() throws Exception
    {
        final PrintWriter err = spec.commandLine().getErr();
        if (!VIF.matcher(vif).matches())
        {
            err.println("dom0j capture: '" + vif + "' is not a vif name (vif<domid>.<handle>, e.g. vif3.0)");
            err.flush();
            return ExitCodes.USAGE;
        }
        if (snaplen < 64 || snaplen > 262_144)
        {
            err.println("dom0j capture: --snaplen must be 64 to 262144");
            err.flush();
            return ExitCodes.USAGE;
        }
        final Path directory = null != captureDirectory ? captureDirectory :
            directory(ConsolePaths.platformName(root), root.environment());
        Files.createDirectories(directory);
        final Path file = directory.resolve(vif);
        final AtomicBoolean stop = new AtomicBoolean();
        final long[] frames = new long[1];
        try (ShutdownSignalBarrier barrier = new ShutdownSignalBarrier(() -> stop.set(true));
            CaptureRing ring = CaptureRing.create(file, snaplen))
        {
            final OutputStream pcap = null == write ? null : "-".equals(write) ? System.out :
                Files.newOutputStream(Path.of(write));
            final Sink sink = null == pcap ? new TextSink(spec.commandLine().getOut()) :
                new PcapSink(new BufferedOutputStream(pcap, 1 << 16), snaplen);
            try
            {
                final long start = System.nanoTime();
                final long end = null == seconds ? Long.MAX_VALUE : start + (long)(seconds * 1e9);
                long lastBeat = start;
                boolean warned = false;
                final MessageHandler handler = (type, buffer, index, length) ->
                {
                    if (null == count || frames[0] < count)
                    {
                        sink.frame(buffer, index, length);
                        frames[0]++;
                    }
                };
                while (!stop.get() && System.nanoTime() - end < 0 && (null == count || frames[0] < count))
                {
                    final int n = ring.read(handler, 256);
                    final long now = System.nanoTime();
                    if (now - lastBeat > TimeUnit.MILLISECONDS.toNanos(500))
                    {
                        ring.beat();
                        lastBeat = now;
                        sink.flush();
                    }
                    if (!warned && frames[0] == 0 && now - start > TimeUnit.SECONDS.toNanos(3))
                    {
                        warned = true;
                        err.println("dom0j capture: nothing from " + vif + " yet: is 'dom0j serve' running, " +
                            "with " + vif + " connected, and watching " + directory + "?");
                        err.flush();
                    }
                    if (0 == n)
                    {
                        TimeUnit.MILLISECONDS.sleep(2);
                    }
                }
                sink.flush();
            }
            finally
            {
                Files.deleteIfExists(file);
                if (null != pcap && pcap != System.out)
                {
                    pcap.close();
                }
            }
            final boolean countReached = null != count && frames[0] >= count;
            err.println("dom0j capture: " + frames[0] + " frame(s) from " + vif + (ring.dropped() > 0 &&
                !countReached ? " (" + ring.dropped() + " more not captured: the ring was full)" : ""));
            err.flush();
        }
        return ExitCodes.OK;
    }

    /**
     * @param platform    the platform's name.
     * @param environment the environment.
     * @return where serve looks for capture rings by default.
     */
    static Path directory(final String platform, final PlatformEnvironment environment)
    {
        return SimPlatformProvider.NAME.equals(platform) ?
            SimPlatformProvider.hostDirectory(environment).resolve("capture") : XEN_CAPTURE_DIRECTORY;
    }

    /** Where captured frames go. */
    private interface Sink
    {
        void frame(DirectBuffer buffer, int index, int length);

        void flush();
    }

    /** pcap with nanosecond timestamps, Ethernet link type. */
    private static final class PcapSink implements Sink
    {
        private final OutputStream out;
        private final ByteBuffer record = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        private byte[] bytes = new byte[2048];

        PcapSink(final OutputStream out, final int snaplen)
        {
            this.out = out;
            final ByteBuffer header = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
            header.putInt(PCAP_NANOSECOND_MAGIC).putShort((short)2).putShort((short)4).putInt(0).putInt(0)
                .putInt(snaplen).putInt(1);
            write(header.array(), 24);
        }

        @Override
        public void frame(final DirectBuffer buffer, final int index, final int length)
        {
            final long time = CaptureRing.recordTime(buffer, index);
            final int kept = length - CaptureRing.recordHeaderLength();
            record.clear();
            record.putInt((int)(time / 1_000_000_000L)).putInt((int)(time % 1_000_000_000L)).putInt(kept)
                .putInt(CaptureRing.recordLength(buffer, index));
            write(record.array(), 16);
            if (bytes.length < kept)
            {
                bytes = new byte[kept];
            }
            buffer.getBytes(index + CaptureRing.recordHeaderLength(), bytes, 0, kept);
            write(bytes, kept);
        }

        private void write(final byte[] data, final int length)
        {
            try
            {
                out.write(data, 0, length);
            }
            catch (final IOException ex)
            {
                throw new java.io.UncheckedIOException(ex);
            }
        }

        @Override
        public void flush()
        {
            try
            {
                out.flush();
            }
            catch (final IOException ex)
            {
                throw new java.io.UncheckedIOException(ex);
            }
        }
    }

    /** One line per frame: time, direction, length, addresses and what it carries. */
    private static final class TextSink implements Sink
    {
        private final PrintWriter out;

        TextSink(final PrintWriter out)
        {
            this.out = out;
        }

        @Override
        public void frame(final DirectBuffer buffer, final int index, final int length)
        {
            final int at = index + CaptureRing.recordHeaderLength();
            final int kept = length - CaptureRing.recordHeaderLength();
            final long time = CaptureRing.recordTime(buffer, index);
            final StringBuilder line = new StringBuilder(120);
            line.append(TIME.format(Instant.ofEpochSecond(time / 1_000_000_000L, time % 1_000_000_000L)))
                .append(CaptureRing.recordDirection(buffer, index) == CaptureRing.FROM_GUEST ? " from-guest " :
                " to-guest   ").append(CaptureRing.recordLength(buffer, index)).append(" bytes");
            if (kept >= 14)
            {
                line.append(' ').append(mac(buffer, at + 6)).append(" > ").append(mac(buffer, at));
                final int type = buffer.getShort(at + 12, ByteOrder.BIG_ENDIAN) & 0xFFFF;
                if (type == 0x0800 && kept >= 34)
                {
                    line.append(" IPv4 ").append(ipv4(buffer, at + 26)).append(" > ").append(ipv4(buffer, at + 30))
                        .append(" proto ").append(buffer.getByte(at + 23) & 0xFF);
                }
                else
                {
                    line.append(String.format(Locale.ROOT, " ethertype 0x%04x", type));
                }
            }
            out.println(line);
        }

        private static String mac(final DirectBuffer buffer, final int at)
        {
            final StringBuilder s = new StringBuilder(17);
            for (int i = 0; i < 6; i++)
            {
                s.append(String.format(Locale.ROOT, i == 0 ? "%02x" : ":%02x", buffer.getByte(at + i) & 0xFF));
            }
            return s.toString();
        }

        private static String ipv4(final DirectBuffer buffer, final int at)
        {
            return (buffer.getByte(at) & 0xFF) + "." + (buffer.getByte(at + 1) & 0xFF) + "." +
                (buffer.getByte(at + 2) & 0xFF) + "." + (buffer.getByte(at + 3) & 0xFF);
        }

        @Override
        public void flush()
        {
            out.flush();
        }
    }
}
