package org.dom0j.nbd;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.StandardProtocolFamily;
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
 * why, when the server is not installed ({@code scripts/install-deps.sh} installs both).
 */
final class NbdServerProcess implements AutoCloseable
{
    static final Path QEMU_NBD = Path.of("/usr/bin/qemu-nbd");
    static final Path NBDKIT = Path.of("/usr/bin/nbdkit");
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

    static void assumeQemuNbd()
    {
        Assumptions.assumeTrue(Files.isExecutable(QEMU_NBD),
            "qemu-nbd is not installed (package qemu-utils; scripts/install-deps.sh installs it)");
    }

    static void assumeNbdkit()
    {
        Assumptions.assumeTrue(Files.isExecutable(NBDKIT),
            "nbdkit is not installed (package nbdkit; scripts/install-deps.sh installs it)");
    }

    /**
     * qemu-nbd serving a raw image on a Unix socket: persistent, up to 8 clients, writeback cache.
     */
    static NbdServerProcess qemuNbd(final Path dir, final Path image, final String... options) throws IOException
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
     * qemu-nbd serving a raw image on a TCP port of 127.0.0.1.
     */
    static NbdServerProcess qemuNbdTcp(final Path dir, final Path image, final String... options) throws IOException
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
     * nbdkit in the foreground on a Unix socket, exiting with the test's JVM.
     *
     * @param arguments filters, the plugin and its parameters, e.g. {@code "memory", "64M"}.
     */
    static NbdServerProcess nbdkit(final Path dir, final String... arguments) throws IOException
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
     */
    void start() throws IOException
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

    NbdUri uri(final String exportName)
    {
        return socket != null ? NbdUri.unix(socket, exportName) : NbdUri.tcp("127.0.0.1", port, exportName);
    }

    NbdUri uri()
    {
        return uri("");
    }

    long pid()
    {
        return process.pid();
    }

    /**
     * SIGKILL, then waits for the process to be gone.
     */
    void kill() throws InterruptedException
    {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    String log()
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
