package org.dom0j.test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.StandardProtocolFamily;
import java.net.URLEncoder;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;

/**
 * A real NBD server, {@code qemu-nbd} or {@code nbdkit}, run as a child process of the test, on a Unix socket or a
 * TCP port of 127.0.0.1. Ready when its socket accepts a connection, polled against a deadline. Tests skip, saying
 * why, when the server is not installed ({@code scripts/install-deps.sh} installs both). Its URI is given as text
 * ({@code nbd+unix:///export?socket=...} or {@code nbd://127.0.0.1:port/export}), what a toolstack writes and what
 * {@code NbdUri.parse} reads, so that this module needs no NBD client.
 * <p>
 * Not thread safe: the test's thread.
 */
public final class NbdServerProcess implements AutoCloseable
{
    /** Where Debian's qemu-utils puts qemu-nbd. */
    public static final Path QEMU_NBD = Path.of("/usr/bin/qemu-nbd");
    /** Where Debian's nbdkit package puts it. */
    public static final Path NBDKIT = Path.of("/usr/bin/nbdkit");
    private static final long READY_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(20);

    private final List<String> command;
    private final Path socket;
    private final int port;
    private final Path log;
    private Process process;

    private NbdServerProcess(final List<String> command, final Path socket, final int port, final Path log)
    {
        this.command = command;
        this.socket = socket;
        this.port = port;
        this.log = log;
    }

    /**
     * Skips the test, saying why, when qemu-nbd is not installed.
     */
    public static void assumeQemuNbd()
    {
        Assumptions.assumeTrue(Files.isExecutable(QEMU_NBD),
            "qemu-nbd is not installed (package qemu-utils; scripts/install-deps.sh installs it)");
    }

    /**
     * Skips the test, saying why, when nbdkit is not installed.
     */
    public static void assumeNbdkit()
    {
        Assumptions.assumeTrue(Files.isExecutable(NBDKIT),
            "nbdkit is not installed (package nbdkit; scripts/install-deps.sh installs it)");
    }

    /**
     * qemu-nbd serving a raw image on a Unix socket ({@code dir/qemu-nbd.sock}): persistent, up to 8 clients at once
     * ({@code -e 8}: qemu-nbd then offers CAN_MULTI_CONN), writeback cache. Options given come before the image and
     * override these (a later {@code -e 1} offers no CAN_MULTI_CONN).
     *
     * @param dir     where its socket and log go.
     * @param image   the raw image.
     * @param options more options, e.g. {@code "--discard=unmap"}, {@code "-r"}.
     * @return the server, accepting connections.
     * @throws IOException when it does not start or accept within 20 s.
     */
    public static NbdServerProcess qemuNbd(final Path dir, final Path image, final String... options) throws IOException
    {
        assumeQemuNbd();
        final Path socket = dir.resolve("qemu-nbd.sock");
        final List<String> command = new ArrayList<>(List.of(QEMU_NBD.toString(), "-k", socket.toString(), "-f", "raw",
            "-t", "-e", "8", "--cache=writeback"));
        command.addAll(List.of(options));
        command.add(image.toString());
        return start(command, socket, 0, dir.resolve("qemu-nbd.log"));
    }

    /**
     * qemu-nbd serving a raw image on a free TCP port of 127.0.0.1.
     *
     * @param dir     where its log goes.
     * @param image   the raw image.
     * @param options more options.
     * @return the server, accepting connections.
     * @throws IOException when it does not start or accept within 20 s.
     */
    public static NbdServerProcess qemuNbdTcp(final Path dir, final Path image, final String... options)
        throws IOException
    {
        assumeQemuNbd();
        final int port = freePort();
        final List<String> command = new ArrayList<>(List.of(QEMU_NBD.toString(), "-b", "127.0.0.1", "-p",
            Integer.toString(port), "-f", "raw", "-t", "-e", "8", "--cache=writeback"));
        command.addAll(List.of(options));
        command.add(image.toString());
        return start(command, null, port, dir.resolve("qemu-nbd-tcp.log"));
    }

    /**
     * nbdkit in the foreground on a Unix socket ({@code dir/nbdkit.sock}), exiting with the test's JVM.
     *
     * @param dir       where its socket and log go.
     * @param arguments filters, the plugin and its parameters, e.g. {@code "memory", "64M"}.
     * @return the server, accepting connections.
     * @throws IOException when it does not start or accept within 20 s.
     */
    public static NbdServerProcess nbdkit(final Path dir, final String... arguments) throws IOException
    {
        assumeNbdkit();
        final Path socket = dir.resolve("nbdkit.sock");
        final List<String> command = new ArrayList<>(List.of(NBDKIT.toString(), "-f", "--exit-with-parent", "-U",
            socket.toString()));
        command.addAll(List.of(arguments));
        return start(command, socket, 0, dir.resolve("nbdkit.log"));
    }

    private static NbdServerProcess start(final List<String> command, final Path socket, final int port,
        final Path log) throws IOException
    {
        final NbdServerProcess server = new NbdServerProcess(List.copyOf(command), socket, port, log);
        server.start();
        return server;
    }

    /**
     * Starts the same command again, on the same socket or port, after {@link #kill()}.
     *
     * @throws IOException when it does not start or accept within 20 s.
     */
    public void start() throws IOException
    {
        if (socket != null)
        {
            Files.deleteIfExists(socket);
        }
        process = new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        final long deadline = System.nanoTime() + READY_TIMEOUT_NANOS;
        while (!accepts())
        {
            if (!process.isAlive())
            {
                throw new IOException(command + " exited with " + process.exitValue() + ": " + log());
            }
            if (System.nanoTime() - deadline > 0)
            {
                close();
                throw new IOException(command + " did not accept connections within 20 s: " + log());
            }
            try
            {
                process.waitFor(10, TimeUnit.MILLISECONDS);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", ex);
            }
        }
    }

    /**
     * @param exportName the export's name (qemu-nbd's {@code -x}; nbdkit serves any name).
     * @return its URI, e.g. {@code nbd+unix:///disk?socket=/tmp/x/qemu-nbd.sock}.
     */
    public String uri(final String exportName)
    {
        final String path = "/" + URLEncoder.encode(exportName, StandardCharsets.UTF_8).replace("+", "%20");
        return socket != null ? "nbd+unix://" + path + "?socket=" + socket : "nbd://127.0.0.1:" + port + path;
    }

    /**
     * @return the default export's URI.
     */
    public String uri()
    {
        return uri("");
    }

    /**
     * @return its Unix socket, or null on TCP.
     */
    public Path socket()
    {
        return socket;
    }

    /**
     * @return its process id.
     */
    public long pid()
    {
        return process.pid();
    }

    /**
     * SIGKILL, then waits for the process to be gone.
     *
     * @throws InterruptedException when interrupted.
     */
    public void kill() throws InterruptedException
    {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /**
     * @return what it printed so far.
     */
    public String log()
    {
        try
        {
            return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
        }
        catch (final IOException ex)
        {
            return "(log unreadable: " + ex + ")";
        }
    }

    @Override
    public void close()
    {
        if (process != null && process.isAlive())
        {
            process.destroy();
            try
            {
                if (!process.waitFor(5, TimeUnit.SECONDS))
                {
                    process.destroyForcibly();
                    process.waitFor(5, TimeUnit.SECONDS);
                }
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }
    }

    private boolean accepts()
    {
        if (socket != null && !Files.exists(socket))
        {
            return false;
        }
        try (SocketChannel probe = socket != null ? SocketChannel.open(StandardProtocolFamily.UNIX) :
            SocketChannel.open())
        {
            probe.connect(socket != null ? UnixDomainSocketAddress.of(socket) :
                new InetSocketAddress("127.0.0.1", port));
            return true;
        }
        catch (final IOException ex)
        {
            return false;
        }
    }

    private static int freePort() throws IOException
    {
        try (ServerSocket probe = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress()))
        {
            return probe.getLocalPort();
        }
    }
}
