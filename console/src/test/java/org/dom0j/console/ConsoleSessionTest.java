package org.dom0j.console;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.dom0j.protocol.console.XenconsDescriptor.IN_CONS_OFFSET;
import static org.dom0j.protocol.console.XenconsDescriptor.IN_PROD_OFFSET;

/**
 * The dom0 side of a console without a guest: the socket, fan-out to several clients, held input and its bound,
 * the log's cap and rotation, and {@link ConsoleClient}'s Ctrl-].
 */
@Timeout(20)
class ConsoleSessionTest
{
    private static final long WAIT_MS = 10_000;

    @TempDir
    Path dir;

    private ConsoleSession open() throws IOException
    {
        return new ConsoleSession("t", dir.resolve("logs/guest-t.log"), dir.resolve("run/t.sock"));
    }

    private ConsoleSession open(final ConsoleConfiguration configuration) throws IOException
    {
        return new ConsoleSession("t", dir.resolve("logs/guest-t.log"), dir.resolve("run/t.sock"), configuration,
            ConsoleCounters.detached("console t"));
    }

    private TestClient attach(final ConsoleSession session) throws Exception
    {
        final int before = session.clientCount();
        final TestClient client = TestClient.connect(session.socketPath());
        Waits.until("the session to count client " + (before + 1), () -> session.clientCount() == before + 1, WAIT_MS);
        return client;
    }

    @Test
    void shouldEndThePtyReaderAtCloseThoughItWaitsForInputWithNoTimeout() throws Exception
    {
        final ConsoleSession session = new ConsoleSession("pty-close", dir.resolve("logs/guest-p.log"),
            dir.resolve("run/p.sock"));
        assertThat(session.openPty()).startsWith("/dev/pts/");
        Waits.until("the pty's reader to start", () -> ptyReaderAlive(), WAIT_MS);
        session.close();
        // it waits in poll(2) with no timeout while nobody types: only the close's wake-up ends it
        Waits.until("the pty's reader to end after the close", () -> !ptyReaderAlive(), WAIT_MS);
    }

    private static boolean ptyReaderAlive()
    {
        return Thread.getAllStackTraces().keySet().stream()
            .anyMatch(t -> t.isAlive() && t.getName().equals("console-pty-close-pty-in"));
    }

    @Test
    void shouldSendOutputToTheLogAndEveryClient() throws Exception
    {
        try (ConsoleSession session = open(); TestClient a = attach(session); TestClient b = attach(session))
        {
            final byte[] text = "boot ok\n".getBytes(StandardCharsets.US_ASCII);
            session.output(text, text.length);

            assertThat(a.readUntil("boot ok\n", WAIT_MS)).isEqualTo("boot ok\n");
            assertThat(b.readUntil("boot ok\n", WAIT_MS)).isEqualTo("boot ok\n");
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
            Waits.until("input to reach the guest's ring", () -> session.takeInput(ring) > 0, WAIT_MS);
            Waits.until("the held input to fill", () -> session.heldInput() == ConsoleSession.INPUT_CAPACITY,
                WAIT_MS);
            // The ring (1024) and the held input (4096) are full and the guest reads nothing: 10 bytes cannot go.
            assertThat(typist).as("the typist, with the held input and the guest's ring full").isNotDone();

            // The guest reads whatever is there, again and again: everything typed gets through, in full.
            Waits.until("everything typed to reach the guest", () ->
            {
                page.putIntRelease(IN_CONS_OFFSET, page.getInt(IN_PROD_OFFSET));
                session.takeInput(ring);
                return typist.isDone() && page.getInt(IN_PROD_OFFSET) == lots.length;
            }, WAIT_MS);
            typist.get(WAIT_MS, TimeUnit.MILLISECONDS);
        }
    }

    @Test
    void shouldTellItsListenerWhenItHoldsInputForTheGuest() throws Exception
    {
        // The pump's agent sleeps until the guest's next event; typed input must wake it (ConsoleDeviceType).
        final UnsafeBuffer page = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
        final ConsoleRing ring = new ConsoleRing(page);
        final AtomicInteger told = new AtomicInteger();
        try (ConsoleSession session = open(); TestClient client = attach(session))
        {
            session.onInput(told::incrementAndGet);
            client.write("ls\r", WAIT_MS);
            Waits.until("the listener told of held input", () -> told.get() > 0, WAIT_MS);
            assertThat(session.takeInput(ring)).isEqualTo(3);

            session.onInput(null);
            final int before = told.get();
            session.offerInput(new byte[]{ 'x' }, 0, 1);
            assertThat(told.get()).as("no listener once it is taken away").isEqualTo(before);
        }
    }

    @Test
    void shouldDetachClientsAndRemoveTheSocketOnClose() throws Exception
    {
        final ConsoleSession session = open();
        try (TestClient client = attach(session))
        {
            session.close();
            session.close();

            client.awaitEndOfStream(WAIT_MS);
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
            Waits.until("'ab' to reach the guest's ring", () ->
            {
                session.takeInput(ring);
                return page.getInt(IN_PROD_OFFSET) == 2;
            }, WAIT_MS);
            assertThat((char)page.getByte(0)).isEqualTo('a');
            assertThat((char)page.getByte(1)).isEqualTo('b');
            Waits.until("the client to detach", () -> session.clientCount() == 0, WAIT_MS);
        }
    }

    @Test
    void shouldRenameAFullLogToDotOneAndBeginANewOne() throws Exception
    {
        final ConsoleConfiguration capped = ConsoleConfiguration.defaults().withLogMaxBytes(4096);
        try (ConsoleSession session = open(capped))
        {
            final Path log = session.logPath();
            final Path old = session.rotatedLogPath();
            assertThat(old.getFileName().toString()).isEqualTo("guest-t.log.1");

            for (char c = 'a'; c <= 'd'; c++)
            {
                output(session, String.valueOf(c).repeat(1000));
            }
            assertThat(Files.size(log)).isEqualTo(4000);
            assertThat(old).doesNotExist();

            // 1000 more would take it past 4096: the log moves aside whole, and the chunk begins a new one.
            output(session, "e".repeat(1000));
            assertThat(Files.readString(old)).isEqualTo("a".repeat(1000) + "b".repeat(1000) + "c".repeat(1000) +
                "d".repeat(1000));
            assertThat(Files.readString(log)).isEqualTo("e".repeat(1000));

            // The next rotation replaces .1: one old log is kept, never more.
            for (char c = 'f'; c <= 'i'; c++)
            {
                output(session, String.valueOf(c).repeat(1000));
            }
            assertThat(Files.readString(old)).isEqualTo("e".repeat(1000) + "f".repeat(1000) + "g".repeat(1000) +
                "h".repeat(1000));
            assertThat(Files.readString(log)).isEqualTo("i".repeat(1000));
            assertThat(session.counters().logRotations().get()).isEqualTo(2);
            assertThat(session.counters().outputBytes().get()).isEqualTo(9000);
            try (var files = Files.list(log.getParent()))
            {
                assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("guest-t.log",
                    "guest-t.log.1");
            }
        }
    }

    @Test
    void shouldRotateALogLeftOverFromBeforeThatIsAlreadyPastTheCap() throws Exception
    {
        Files.createDirectories(dir.resolve("logs"));
        Files.writeString(dir.resolve("logs/guest-t.log"), "x".repeat(10_000));
        try (ConsoleSession session = open(ConsoleConfiguration.defaults().withLogMaxBytes(4096)))
        {
            output(session, "after restart\n");

            assertThat(Files.readString(session.logPath())).isEqualTo("after restart\n");
            assertThat(Files.size(session.rotatedLogPath())).isEqualTo(10_000);
        }
    }

    @Test
    void shouldLetALogWithoutACapGrow() throws Exception
    {
        try (ConsoleSession session = open(ConsoleConfiguration.defaults().withLogMaxBytes(0)))
        {
            for (int i = 0; i < 10; i++)
            {
                output(session, "z".repeat(2000));
            }

            assertThat(Files.size(session.logPath())).isEqualTo(20_000);
            assertThat(session.rotatedLogPath()).doesNotExist();
            assertThat(session.counters().logRotations().get()).isZero();
        }
    }

    private static void output(final ConsoleSession session, final String text)
    {
        final byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        session.output(bytes, bytes.length);
    }
}
