package org.dom0j.console;

import org.dom0j.test.Await;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.dom0j.protocol.console.XenconsDescriptor.IN_CONS_OFFSET;
import static org.dom0j.protocol.console.XenconsDescriptor.IN_PROD_OFFSET;

/**
 * The dom0 side of a console without a guest: the socket, fan-out to several clients, held input and its bound,
 * and {@link ConsoleClient}'s Ctrl-].
 */
@Timeout(20)
class ConsoleSessionTest
{
    @TempDir
    Path dir;

    private ConsoleSession open() throws IOException
    {
        return new ConsoleSession("t", dir.resolve("logs/guest-t.log"), dir.resolve("run/t.sock"));
    }

    private SocketChannel attach(final ConsoleSession session) throws Exception
    {
        final SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        final int before = session.clientCount();
        channel.connect(UnixDomainSocketAddress.of(session.socketPath()));
        assertThat(Await.until(() -> session.clientCount() == before + 1, 10_000)).isTrue();
        return channel;
    }

    @Test
    void shouldSendOutputToTheLogAndEveryClient() throws Exception
    {
        try (ConsoleSession session = open(); SocketChannel a = attach(session); SocketChannel b = attach(session))
        {
            final byte[] text = "boot ok\n".getBytes(StandardCharsets.US_ASCII);
            session.output(text, text.length);

            assertThat(read(a, text.length)).isEqualTo("boot ok\n");
            assertThat(read(b, text.length)).isEqualTo("boot ok\n");
            assertThat(Files.readString(session.logPath())).isEqualTo("boot ok\n");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(session.socketPath())))
                .isEqualTo("rw-------");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(session.socketPath().getParent())))
                .isEqualTo("rwx------");
        }
    }

    @Test
    void shouldHoldInputUntilTheGuestHasRoomAndBlockTheTypistWhenFull() throws Exception
    {
        final UnsafeBuffer page = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
        final ConsoleRing ring = new ConsoleRing(page);
        try (ConsoleSession session = open())
        {
            final byte[] lots = new byte[ConsoleSession.INPUT_CAPACITY + 1024 + 10];
            final CompletableFuture<Void> typist = CompletableFuture.runAsync(() ->
            {
                try
                {
                    session.offerInput(lots, 0, lots.length);
                }
                catch (final InterruptedException ex)
                {
                    throw new IllegalStateException(ex);
                }
            });
            assertThat(Await.until(() -> session.takeInput(ring) > 0, 10_000)).isTrue();
            Thread.sleep(50);
            assertThat(typist).as("the held input and the guest's ring are full").isNotDone();

            // The guest reads whatever is there, again and again: everything typed gets through, in full.
            assertThat(Await.until(() ->
            {
                page.putIntRelease(IN_CONS_OFFSET, page.getInt(IN_PROD_OFFSET));
                session.takeInput(ring);
                return typist.isDone() && page.getInt(IN_PROD_OFFSET) == lots.length;
            }, 10_000)).isTrue();
            typist.get(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void shouldDetachClientsAndRemoveTheSocketOnClose() throws Exception
    {
        final ConsoleSession session = open();
        try (SocketChannel client = attach(session))
        {
            session.close();
            session.close();

            assertThat(client.read(ByteBuffer.allocate(16))).isEqualTo(-1);
            assertThat(session.socketPath()).doesNotExist();
        }
    }

    @Test
    void clientShouldSendWhatWasTypedBeforeCtrlRightBracketAndStop() throws Exception
    {
        final UnsafeBuffer page = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
        final ConsoleRing ring = new ConsoleRing(page);
        try (ConsoleSession session = open())
        {
            final ConsoleClient client = ConsoleClient.connect(session.socketPath());
            final ByteArrayOutputStream screen = new ByteArrayOutputStream();

            final ConsoleClient.End end = client.run(
                new ByteArrayInputStream(new byte[]{ 'a', 'b', ConsoleClient.ESCAPE, 'c' }), screen);

            assertThat(end).isEqualTo(ConsoleClient.End.ESCAPE);
            assertThat(Await.until(() -> session.takeInput(ring) == 2 || page.getInt(IN_PROD_OFFSET) == 2,
                10_000)).isTrue();
            assertThat((char)page.getByte(0)).isEqualTo('a');
            assertThat((char)page.getByte(1)).isEqualTo('b');
            assertThat(Await.until(() -> session.clientCount() == 0, 10_000)).isTrue();
        }
    }

    private static String read(final SocketChannel channel, final int length) throws IOException
    {
        final ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining() && channel.read(buffer) >= 0)
        {
            Thread.onSpinWait();
        }
        return new String(buffer.array(), 0, buffer.position(), StandardCharsets.US_ASCII);
    }

}
