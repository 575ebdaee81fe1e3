package org.dom0j.cli;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code dom0j bench blk --nbd}'s NBD server: {@code qemu-nbd} serving the bench's file on a Unix socket beside it
 * ({@code -f raw}, writeback cache, persistent, shared by up to {@value #CLIENTS} clients: fio's jobs, serve's queues
 * and its probes; sharing also makes qemu-nbd offer CAN_MULTI_CONN, which two queues need). Ready when its socket
 * accepts a connection; its output goes to a log beside the file.
 * <p>
 * One thread uses it.
 */
final class BenchNbdServer implements AutoCloseable
{
    /** Where Debian's qemu-utils puts it. */
    static final Path QEMU_NBD = Path.of("/usr/bin/qemu-nbd");
    /** Clients at once: fio's two jobs and serve's two queues, with room for probes and a case's next guest. */
    static final int CLIENTS = 16;
    private static final long READY_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(20);

    private final Process process;
    private final Path socket;
    private final Path log;

    private BenchNbdServer(final Process process, final Path socket, final Path log)
    {
        this.process = process;
        this.socket = socket;
        this.log = log;
    }

    /**
     * @return qemu-nbd's version line, e.g. "qemu-nbd 7.2.22 (Debian ...)", or null when it is not installed or does
     *         not run.
     */
    static String version()
    {
        if (!Files.isExecutable(QEMU_NBD))
        {
            return null;
        }
        try
        {
            final Process p = new ProcessBuilder(QEMU_NBD.toString(), "--version").redirectErrorStream(true).start();
            final String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            // "/usr/bin/qemu-nbd 7.2.22 (Debian ...)": the name without its directory.
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0 ?
                out.lines().findFirst().orElse("").replace(QEMU_NBD.toString(), "qemu-nbd") : null;
        }
        catch (final IOException ex)
        {
            return null;
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /**
     * Starts qemu-nbd on {@code image} and waits until it accepts connections.
     *
     * @param image the raw image.
     * @return the running server.
     * @throws IOException when it exits or does not accept within 20 s (the message quotes its log).
     */
    static BenchNbdServer start(final Path image) throws IOException, InterruptedException
    {
        final Path socket = image.resolveSibling(image.getFileName() + ".nbd.sock");
        final Path log = image.resolveSibling(image.getFileName() + ".qemu-nbd.log");
        Files.deleteIfExists(socket);
        final Process process = new ProcessBuilder(List.of(QEMU_NBD.toString(), "-k", socket.toString(), "-f", "raw",
            "--cache=writeback", "-t", "-e", Integer.toString(CLIENTS), image.toString()))
            .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        final BenchNbdServer server = new BenchNbdServer(process, socket, log);
        final long deadline = System.nanoTime() + READY_TIMEOUT_NANOS;
        while (!server.accepts())
        {
            if (!process.isAlive() || System.nanoTime() - deadline > 0)
            {
                server.close();
                throw new IOException("qemu-nbd did not start serving " + image + ": " +
                    Files.readString(log, StandardCharsets.UTF_8).strip());
            }
            process.waitFor(10, TimeUnit.MILLISECONDS);
        }
        return server;
    }

    /**
     * @return the export's URI, for the guest's {@code params} and fio's {@code --uri}.
     */
    String uri()
    {
        return "nbd+unix:///?socket=" + socket;
    }

    private boolean accepts()
    {
        if (!Files.exists(socket))
        {
            return false;
        }
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX))
        {
            probe.connect(UnixDomainSocketAddress.of(socket));
            return true;
        }
        catch (final IOException ex)
        {
            return false;
        }
    }

    /**
     * Stops qemu-nbd (SIGTERM, then SIGKILL after 5 s) and removes its socket.
     */
    @Override
    public void close()
    {
        process.destroy();
        try
        {
            if (!process.waitFor(5, TimeUnit.SECONDS))
            {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
            Files.deleteIfExists(socket);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        catch (final IOException ex)
        {
            // The bench's directory goes anyway.
        }
    }
}
