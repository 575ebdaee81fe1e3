package org.dom0j.console;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The dom0 side of one console: its log file ({@link ConsoleLog}, capped and rotated) and the {@code dom0j console}
 * clients attached through its Unix socket. Guest output goes to the log and to every client; input from any client
 * is held in a bounded buffer until the guest has room for it. How fast output is taken from the guest is the
 * pump's business ({@link ConsolePump}, with the session's {@link #configuration}); what it took, and what was held
 * back or lost, is counted in the session's {@link ConsoleCounters}.
 * <p>
 * The local channel is a Unix stream socket (mode 0600, in a directory created 0700) carrying raw bytes both ways:
 * what the guest writes, and what the user types. Nothing is framed; the client keeps Ctrl-] to itself. Several
 * clients may attach at once (all see the output, all may type), as with {@code xl console} on a shared pty.
 * <p>
 * {@link #openPty} adds a pseudo-terminal, as xenconsoled gives each guest, for viewers that open a tty
 * ({@code xl console}); it gets the output and gives input like a client, but stays until the session closes.
 * <p>
 * <b>Threads</b>: {@link #output} and {@link #takeInput} on the console's agent thread; each client has a reader
 * thread (socket to input buffer; it blocks while the buffer is full, which is the backpressure on a fast typist)
 * and a writer thread (its own queue of output chunks to the socket; a client that does not keep up loses output,
 * counted, rather than stall the guest). {@link #close} from any thread.
 */
public final class ConsoleSession implements AutoCloseable
{
    /** Bytes of input held for a guest that is not reading. */
    public static final int INPUT_CAPACITY = 4096;
    private static final int CLIENT_QUEUE_CHUNKS = 256;
    private static final byte[] END = new byte[0];
    private static final Logger LOG = Logger.getLogger(ConsoleSession.class.getName());

    private final String label;
    private final ConsoleConfiguration configuration;
    private final ConsoleCounters counters;
    private final Path socketPath;
    private final ConsoleLog log;
    private final ServerSocketChannel server;
    private final Thread acceptor;
    private final List<Client> clients = new CopyOnWriteArrayList<>();
    private final byte[] input = new byte[INPUT_CAPACITY];
    private final AtomicLong droppedOutput = new AtomicLong();
    private int inputLength;
    private volatile boolean closed;
    private volatile PtyEndpoint pty;
    private volatile Runnable inputListener;

    /** One attached client. */
    private final class Client
    {
        final SocketChannel channel;
        final BlockingQueue<byte[]> outbound = new ArrayBlockingQueue<>(CLIENT_QUEUE_CHUNKS);

        Client(final SocketChannel channel)
        {
            this.channel = channel;
        }

        void start()
        {
            final Thread reader = new Thread(this::readLoop, "console-" + label + "-in");
            final Thread writer = new Thread(this::writeLoop, "console-" + label + "-out");
            reader.setDaemon(true);
            writer.setDaemon(true);
            reader.start();
            writer.start();
        }

        void readLoop()
        {
            final ByteBuffer buffer = ByteBuffer.allocate(1024);
            try
            {
                while (!closed && channel.read(buffer.clear()) >= 0)
                {
                    offerInput(buffer.array(), 0, buffer.position());
                }
            }
            catch (final IOException | InterruptedException ex)
            {
                // The client went away, or the console closed.
            }
            detach();
        }

        void writeLoop()
        {
            try
            {
                byte[] chunk;
                while ((chunk = outbound.take()) != END)
                {
                    final ByteBuffer buffer = ByteBuffer.wrap(chunk);
                    while (buffer.hasRemaining())
                    {
                        channel.write(buffer);
                    }
                }
            }
            catch (final IOException | InterruptedException ex)
            {
                // The client went away.
            }
            detach();
        }

        void detach()
        {
            if (clients.remove(this))
            {
                outbound.clear();
                outbound.offer(END);
            }
            try
            {
                channel.close();
            }
            catch (final IOException ex)
            {
                // Closing anyway.
            }
        }
    }

    /** The session's pseudo-terminal: a reader and a writer thread, like a client's, on the pty's master. */
    private final class PtyEndpoint
    {
        static final int FULL_WAIT_MILLIS = 100;

        final Pty pty;
        final BlockingQueue<byte[]> outbound = new ArrayBlockingQueue<>(CLIENT_QUEUE_CHUNKS);
        final Thread reader = new Thread(this::readLoop, "console-" + label + "-pty-in");
        final Thread writer = new Thread(this::writeLoop, "console-" + label + "-pty-out");
        final AtomicInteger threadsRunning = new AtomicInteger(2);

        PtyEndpoint(final Pty pty)
        {
            this.pty = pty;
            reader.setDaemon(true);
            writer.setDaemon(true);
            reader.start();
            writer.start();
        }

        void readLoop()
        {
            final byte[] buffer = new byte[1024];
            try
            {
                while (!closed)
                {
                    // until a viewer types or the close wakes it: no wake-ups while nobody types (it polled every
                    // 200 ms, five wake-ups a second per guest through the hypervisor in a PV dom0)
                    final int n = pty.read(buffer, -1);
                    if (n > 0)
                    {
                        offerInput(buffer, 0, n);
                    }
                }
            }
            catch (final IOException ex)
            {
                LOG.log(Level.WARNING, "console " + label + ": " + ex.getMessage() + "; the pty takes no more input");
            }
            catch (final InterruptedException ex)
            {
                // The console closed.
            }
            threadDone();
        }

        void writeLoop()
        {
            try
            {
                byte[] chunk;
                while ((chunk = outbound.take()) != END)
                {
                    // Nobody reading the pty: xenconsoled drops what does not fit too, rather than stall the guest.
                    if (pty.write(chunk, FULL_WAIT_MILLIS) > 0)
                    {
                        droppedOutput.incrementAndGet();
                    }
                }
            }
            catch (final IOException ex)
            {
                LOG.log(Level.WARNING, "console " + label + ": " + ex.getMessage() + "; the pty gets no more output");
            }
            catch (final InterruptedException ex)
            {
                // The console closed.
            }
            threadDone();
        }

        /** Called by each thread as it ends: the last one closes the pty. */
        void threadDone()
        {
            if (threadsRunning.decrementAndGet() == 0)
            {
                pty.close();
            }
        }

        void close()
        {
            outbound.clear();
            outbound.offer(END);
            pty.wakeReader();
        }
    }

    /**
     * A session with the settings from system properties and counters of its own.
     *
     * @param label      for thread names and messages, e.g. "7" or "7-1".
     * @param logPath    the log file.
     * @param socketPath the socket.
     * @throws IOException when either cannot be created.
     */
    public ConsoleSession(final String label, final Path logPath, final Path socketPath) throws IOException
    {
        this(label, logPath, socketPath, ConsoleConfiguration.fromSystemProperties(),
            ConsoleCounters.detached("console " + label));
    }

    /**
     * Opens the log (appending) and starts listening on the socket (a stale socket file is replaced).
     *
     * @param label         for thread names and messages, e.g. "7" or "7-1".
     * @param logPath       the log file.
     * @param socketPath    the socket.
     * @param configuration the log's cap and the pump's rate limit.
     * @param counters      the console's counters, freed when the session closes (or fails to open).
     * @throws IOException when either cannot be created.
     */
    public ConsoleSession(
        final String label,
        final Path logPath,
        final Path socketPath,
        final ConsoleConfiguration configuration,
        final ConsoleCounters counters) throws IOException
    {
        this.label = label;
        this.configuration = configuration;
        this.counters = counters;
        this.socketPath = socketPath;
        try
        {
            Files.createDirectories(logPath.toAbsolutePath().getParent());
            // Only the service's user may reach the sockets (a directory it creates is 0700).
            Files.createDirectories(socketPath.toAbsolutePath().getParent(),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            log = new ConsoleLog(label, logPath, configuration.logMaxBytes(), counters.logRotations());
        }
        catch (final IOException | RuntimeException ex)
        {
            counters.close();
            throw ex;
        }
        try
        {
            Files.deleteIfExists(socketPath);
            server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            server.bind(UnixDomainSocketAddress.of(socketPath));
            Files.setPosixFilePermissions(socketPath, PosixFilePermissions.fromString("rw-------"));
        }
        catch (final IOException | RuntimeException ex)
        {
            log.close();
            counters.close();
            throw ex;
        }
        acceptor = new Thread(this::acceptLoop, "console-" + label + "-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    private void acceptLoop()
    {
        try
        {
            while (!closed)
            {
                final Client client = new Client(server.accept());
                clients.add(client);
                if (closed)
                {
                    client.detach();
                    break;
                }
                client.start();
            }
        }
        catch (final IOException ex)
        {
            if (!closed)
            {
                LOG.log(Level.WARNING, "console " + label + ": accept failed", ex);
            }
        }
    }

    /**
     * Gives the console a pseudo-terminal (once; later calls return the same one).
     *
     * @return the pty's slave path, e.g. /dev/pts/3, for xenstore's {@code console/tty}.
     * @throws IOException when no pty can be opened.
     */
    public synchronized String openPty() throws IOException
    {
        if (closed)
        {
            throw new IOException("console " + label + " is closed");
        }
        if (null == pty)
        {
            pty = new PtyEndpoint(Pty.open());
        }
        return pty.pty.slavePath();
    }

    /**
     * @return the pty's slave path, or null when the console has none.
     */
    public String ptyPath()
    {
        final PtyEndpoint endpoint = pty;
        return null == endpoint ? null : endpoint.pty.slavePath();
    }

    /**
     * @return the log file.
     */
    public Path logPath()
    {
        return log.path();
    }

    /**
     * @return where the log goes when it reaches its cap ({@code <log>.1}).
     */
    public Path rotatedLogPath()
    {
        return log.rotatedPath();
    }

    /**
     * @return the log's cap and the rate limit for this console's pump.
     */
    public ConsoleConfiguration configuration()
    {
        return configuration;
    }

    /**
     * @return the console's counters (valid until the session closes).
     */
    public ConsoleCounters counters()
    {
        return counters;
    }

    /**
     * @return the socket clients connect to.
     */
    public Path socketPath()
    {
        return socketPath;
    }

    /**
     * @return clients attached now.
     */
    public int clientCount()
    {
        return clients.size();
    }

    /**
     * @return output chunks not delivered to clients that did not keep up.
     */
    public long droppedOutput()
    {
        return droppedOutput.get();
    }

    /**
     * Appends guest output to the log and queues it for every client. Agent thread.
     *
     * @param data   the bytes (copied).
     * @param length how many.
     */
    public void output(final byte[] data, final int length)
    {
        if (length <= 0 || closed)
        {
            return;
        }
        log.write(data, length);
        // counted once logged: whoever reads the count finds those bytes in the log (not a log mid-rotation)
        counters.outputBytes().getAndAddRelease(length);
        final PtyEndpoint endpoint = pty;
        if (!clients.isEmpty() || null != endpoint)
        {
            final byte[] chunk = Arrays.copyOf(data, length);
            for (final Client client : clients)
            {
                if (!client.outbound.offer(chunk))
                {
                    droppedOutput.incrementAndGet();
                }
            }
            if (null != endpoint && !endpoint.outbound.offer(chunk))
            {
                droppedOutput.incrementAndGet();
            }
        }
        // Published by this thread only: the pty's writer also counts, and may still do so after close().
        counters.droppedOutput().setRelease(droppedOutput.get());
    }

    /**
     * Moves held input into the guest's ring, as much as it has room for. Agent thread.
     *
     * @param ring the console's ring.
     * @return bytes moved.
     */
    public synchronized int takeInput(final ConsoleRing ring)
    {
        if (inputLength == 0)
        {
            return 0;
        }
        final int n = ring.writeInput(input, 0, inputLength);
        if (n > 0)
        {
            System.arraycopy(input, n, input, 0, inputLength - n);
            inputLength -= n;
            notifyAll();
        }
        return n;
    }

    /**
     * @return bytes of input held for the guest now (at most {@link #INPUT_CAPACITY}).
     */
    public synchronized int heldInput()
    {
        return inputLength;
    }

    /**
     * @param listener told (on the thread that brought it) whenever input is held for the guest, so that the agent
     *                 pumping this console need not poll for it; null for none. Must not block.
     */
    public void onInput(final Runnable listener)
    {
        inputListener = listener;
    }

    /**
     * Holds input for the guest, waiting while the buffer is full. Client reader threads (and tests).
     *
     * @param data   the bytes.
     * @param offset where they start.
     * @param length how many.
     * @throws InterruptedException when interrupted, or when the console closes.
     */
    public synchronized void offerInput(final byte[] data, final int offset, final int length)
        throws InterruptedException
    {
        int done = 0;
        while (done < length)
        {
            while (inputLength == input.length && !closed)
            {
                wait(100);
            }
            if (closed)
            {
                throw new InterruptedException("console " + label + " closed");
            }
            final int n = Math.min(length - done, input.length - inputLength);
            System.arraycopy(data, offset + done, input, inputLength, n);
            inputLength += n;
            done += n;
            final Runnable listener = inputListener;
            if (null != listener)
            {
                listener.run();
            }
        }
    }

    /**
     * Stops listening, detaches every client, closes the pty, closes the log, frees the counters and removes the
     * socket. Idempotent. The agent must no longer pump this console.
     */
    @Override
    public void close()
    {
        synchronized (this)
        {
            if (closed)
            {
                return;
            }
            closed = true;
            notifyAll();
        }
        try
        {
            server.close();
        }
        catch (final IOException ex)
        {
            LOG.log(Level.FINE, "close socket", ex);
        }
        for (final Client client : clients)
        {
            client.detach();
        }
        final PtyEndpoint endpoint = pty;
        if (null != endpoint)
        {
            endpoint.close();
        }
        log.close();
        counters.close();
        try
        {
            Files.deleteIfExists(socketPath);
        }
        catch (final IOException ex)
        {
            LOG.log(Level.WARNING, "console " + label + ": close", ex);
        }
    }
}
