package org.dom0j.nbd;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.dom0j.nbd.NbdConstants.IHAVEOPT;
import static org.dom0j.nbd.NbdConstants.NBDMAGIC;
import static org.dom0j.nbd.NbdConstants.NBD_CMD_WRITE;
import static org.dom0j.nbd.NbdConstants.NBD_FLAG_FIXED_NEWSTYLE;
import static org.dom0j.nbd.NbdConstants.NBD_FLAG_HAS_FLAGS;
import static org.dom0j.nbd.NbdConstants.NBD_FLAG_NO_ZEROES;
import static org.dom0j.nbd.NbdConstants.NBD_FLAG_SEND_FLUSH;
import static org.dom0j.nbd.NbdConstants.NBD_FLAG_SEND_FUA;
import static org.dom0j.nbd.NbdConstants.NBD_FLAG_SEND_TRIM;
import static org.dom0j.nbd.NbdConstants.NBD_FLAG_SEND_WRITE_ZEROES;
import static org.dom0j.nbd.NbdConstants.NBD_INFO_BLOCK_SIZE;
import static org.dom0j.nbd.NbdConstants.NBD_INFO_EXPORT;
import static org.dom0j.nbd.NbdConstants.NBD_OPT_ABORT;
import static org.dom0j.nbd.NbdConstants.NBD_OPT_EXPORT_NAME;
import static org.dom0j.nbd.NbdConstants.NBD_OPT_GO;
import static org.dom0j.nbd.NbdConstants.NBD_OPT_STRUCTURED_REPLY;
import static org.dom0j.nbd.NbdConstants.NBD_REPLY_FLAG_DONE;
import static org.dom0j.nbd.NbdConstants.NBD_REPLY_TYPE_ERROR;
import static org.dom0j.nbd.NbdConstants.NBD_REPLY_TYPE_NONE;
import static org.dom0j.nbd.NbdConstants.NBD_REPLY_TYPE_OFFSET_DATA;
import static org.dom0j.nbd.NbdConstants.NBD_REPLY_TYPE_OFFSET_HOLE;
import static org.dom0j.nbd.NbdConstants.NBD_REP_ACK;
import static org.dom0j.nbd.NbdConstants.NBD_REP_ERR_UNKNOWN;
import static org.dom0j.nbd.NbdConstants.NBD_REP_ERR_UNSUP;
import static org.dom0j.nbd.NbdConstants.NBD_REP_INFO;
import static org.dom0j.nbd.NbdConstants.OPTION_REPLY_MAGIC;

/**
 * An NBD server in the test, on 127.0.0.1, written for breaking rules: it shakes hands as {@link Options} say (or
 * lets a script do the whole conversation), then hands each connection to a {@link Script} that reads requests and
 * writes whatever replies the test wants, right or wrong. Serves connections one after the other until closed.
 */
final class FakeNbdServer implements AutoCloseable
{
    /** What one connection does once it is in the transmission phase (or from its first byte, when raw). */
    @FunctionalInterface
    interface Script
    {
        void serve(Session session) throws Exception;
    }

    /** How the handshake goes. */
    static final class Options
    {
        long size = 1 << 20;
        int transmissionFlags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_TRIM |
            NBD_FLAG_SEND_WRITE_ZEROES;
        boolean structured = true;
        boolean go = true;
        boolean noZeroes = true;
        int[] blockSizes;
        String export = "";
        boolean raw;
    }

    /** A request as it came. */
    record Request(int magic, int flags, int type, long cookie, long offset, int length, byte[] data)
    {
    }

    /** One connection. */
    static final class Session
    {
        final DataInputStream in;
        final DataOutputStream out;
        final Options options;

        Session(final Socket socket, final Options options) throws IOException
        {
            in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
            this.options = options;
        }

        Request readRequest() throws IOException
        {
            final int magic = in.readInt();
            final int flags = in.readUnsignedShort();
            final int type = in.readUnsignedShort();
            final long cookie = in.readLong();
            final long offset = in.readLong();
            final int length = in.readInt();
            byte[] data = null;
            if (type == NBD_CMD_WRITE)
            {
                data = new byte[length];
                in.readFully(data);
            }
            return new Request(magic, flags, type, cookie, offset, length, data);
        }

        void simple(final long cookie, final int error, final byte[] data) throws IOException
        {
            out.writeInt(NbdDescriptor.SIMPLE_REPLY_MAGIC);
            out.writeInt(error);
            out.writeLong(cookie);
            if (data != null)
            {
                out.write(data);
            }
            out.flush();
        }

        void chunk(final int flags, final int type, final long cookie, final byte[] payload) throws IOException
        {
            out.writeInt(NbdDescriptor.STRUCTURED_REPLY_MAGIC);
            out.writeShort(flags);
            out.writeShort(type);
            out.writeLong(cookie);
            out.writeInt(payload.length);
            out.write(payload);
            out.flush();
        }

        void data(final long cookie, final long offset, final byte[] data, final boolean done) throws IOException
        {
            final java.nio.ByteBuffer payload = java.nio.ByteBuffer.allocate(8 + data.length);
            payload.putLong(offset).put(data);
            chunk(done ? NBD_REPLY_FLAG_DONE : 0, NBD_REPLY_TYPE_OFFSET_DATA, cookie, payload.array());
        }

        void hole(final long cookie, final long offset, final int size, final boolean done) throws IOException
        {
            final java.nio.ByteBuffer payload = java.nio.ByteBuffer.allocate(12);
            payload.putLong(offset).putInt(size);
            chunk(done ? NBD_REPLY_FLAG_DONE : 0, NBD_REPLY_TYPE_OFFSET_HOLE, cookie, payload.array());
        }

        void error(final long cookie, final int type, final int error, final String message, final byte[] tail,
            final boolean done) throws IOException
        {
            final byte[] text = message.getBytes(StandardCharsets.UTF_8);
            final java.nio.ByteBuffer payload = java.nio.ByteBuffer.allocate(6 + text.length + tail.length);
            payload.putInt(error).putShort((short)text.length).put(text).put(tail);
            chunk(done ? NBD_REPLY_FLAG_DONE : 0, type, cookie, payload.array());
        }

        void error(final long cookie, final int error, final String message) throws IOException
        {
            error(cookie, NBD_REPLY_TYPE_ERROR, error, message, new byte[0], true);
        }

        void none(final long cookie) throws IOException
        {
            chunk(NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_NONE, cookie, new byte[0]);
        }

        /**
         * Waits for the client to hang up (or for the test to close the server).
         */
        void awaitHangUp()
        {
            try
            {
                while (in.read() >= 0)
                {
                    continue;
                }
            }
            catch (final IOException ignore)
            {
                // gone either way
            }
        }

        /**
         * The server's side of the handshake, as the options say; returns once in the transmission phase.
         */
        void handshake() throws IOException
        {
            out.writeLong(NBDMAGIC);
            out.writeLong(IHAVEOPT);
            out.writeShort(NBD_FLAG_FIXED_NEWSTYLE | (options.noZeroes ? NBD_FLAG_NO_ZEROES : 0));
            out.flush();
            final int clientFlags = in.readInt();
            while (true)
            {
                final long magic = in.readLong();
                if (magic != IHAVEOPT)
                {
                    throw new IOException("bad option magic " + Long.toHexString(magic));
                }
                final int option = in.readInt();
                final byte[] data = new byte[in.readInt()];
                in.readFully(data);
                switch (option)
                {
                    case NBD_OPT_STRUCTURED_REPLY:
                        optionReply(option, options.structured ? NBD_REP_ACK : NBD_REP_ERR_UNSUP, new byte[0]);
                        break;
                    case NBD_OPT_GO:
                        if (!options.go)
                        {
                            optionReply(option, NBD_REP_ERR_UNSUP, new byte[0]);
                            break;
                        }
                        final java.nio.ByteBuffer go = java.nio.ByteBuffer.wrap(data);
                        final byte[] name = new byte[go.getInt()];
                        go.get(name);
                        if (!new String(name, StandardCharsets.UTF_8).equals(options.export))
                        {
                            optionReply(option, NBD_REP_ERR_UNKNOWN, "no such export".getBytes(StandardCharsets.UTF_8));
                            break;
                        }
                        final java.nio.ByteBuffer info = java.nio.ByteBuffer.allocate(12);
                        info.putShort((short)NBD_INFO_EXPORT).putLong(options.size)
                            .putShort((short)options.transmissionFlags);
                        optionReply(option, NBD_REP_INFO, info.array());
                        if (options.blockSizes != null)
                        {
                            final java.nio.ByteBuffer sizes = java.nio.ByteBuffer.allocate(14);
                            sizes.putShort((short)NBD_INFO_BLOCK_SIZE).putInt(options.blockSizes[0])
                                .putInt(options.blockSizes[1]).putInt(options.blockSizes[2]);
                            optionReply(option, NBD_REP_INFO, sizes.array());
                        }
                        optionReply(option, NBD_REP_ACK, new byte[0]);
                        return;
                    case NBD_OPT_EXPORT_NAME:
                        if (!new String(data, StandardCharsets.UTF_8).equals(options.export))
                        {
                            throw new IOException("unknown export; hanging up");
                        }
                        out.writeLong(options.size);
                        out.writeShort(options.transmissionFlags);
                        if ((clientFlags & NbdConstants.NBD_FLAG_C_NO_ZEROES) == 0)
                        {
                            out.write(new byte[124]);
                        }
                        out.flush();
                        return;
                    case NBD_OPT_ABORT:
                        optionReply(option, NBD_REP_ACK, new byte[0]);
                        throw new IOException("client aborted");
                    default:
                        optionReply(option, NBD_REP_ERR_UNSUP, new byte[0]);
                        break;
                }
            }
        }

        void optionReply(final int option, final int type, final byte[] data) throws IOException
        {
            out.writeLong(OPTION_REPLY_MAGIC);
            out.writeInt(option);
            out.writeInt(type);
            out.writeInt(data.length);
            out.write(data);
            out.flush();
        }
    }

    private final ServerSocket server;
    private final Options options;
    private final Script script;
    private final Thread thread;
    private volatile Socket current;
    private volatile Throwable failure;
    private volatile int connections;

    FakeNbdServer(final Options options, final Script script) throws IOException
    {
        this.options = options;
        this.script = script;
        server = new ServerSocket(0, 4, InetAddress.getLoopbackAddress());
        thread = new Thread(this::run, "fake-nbd-server");
        thread.setDaemon(true);
        thread.start();
    }

    NbdUri uri()
    {
        return NbdUri.tcp("127.0.0.1", server.getLocalPort(), options.export);
    }

    NbdUri uri(final String export)
    {
        return NbdUri.tcp("127.0.0.1", server.getLocalPort(), export);
    }

    Throwable failure()
    {
        return failure;
    }

    int connections()
    {
        return connections;
    }

    private void run()
    {
        while (!server.isClosed())
        {
            try (Socket socket = server.accept())
            {
                socket.setTcpNoDelay(true);
                current = socket;
                connections++;
                final Session session = new Session(socket, options);
                if (!options.raw)
                {
                    session.handshake();
                }
                script.serve(session);
            }
            catch (final Throwable ex)
            {
                if (!server.isClosed())
                {
                    failure = ex;
                }
            }
        }
    }

    @Override
    public void close() throws IOException
    {
        server.close();
        final Socket socket = current;
        if (socket != null)
        {
            socket.close();
        }
        try
        {
            thread.join(TimeUnit.SECONDS.toMillis(10));
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }
}
