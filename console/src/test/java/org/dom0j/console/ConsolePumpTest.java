package org.dom0j.console;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.dom0j.protocol.console.XenconsDescriptor.IN_PROD_OFFSET;
import static org.dom0j.protocol.console.XenconsDescriptor.OUT_CONS_OFFSET;
import static org.dom0j.protocol.console.XenconsDescriptor.OUT_PROD_OFFSET;
import static org.dom0j.protocol.console.XenconsDescriptor.OUT_SIZE;
import static org.dom0j.protocol.console.XenconsDescriptor.outOffset;

/**
 * A {@link ConsolePump} on a page in memory, with the test as the guest and as the clock: the rate limit (an
 * allowance per period, as xenconsoled's) and the log's cap, decided by bytes and by the time the test gives,
 * never by how fast anything runs.
 */
@Timeout(20)
class ConsolePumpTest
{
    private static final long PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

    @TempDir
    Path dir;

    private final UnsafeBuffer page = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
    private ConsoleSession session;

    @BeforeEach
    void clearPage()
    {
        page.setMemory(0, page.capacity(), (byte)0);
    }

    @AfterEach
    void close()
    {
        if (null != session)
        {
            session.close();
        }
    }

    private ConsolePump pump(final ConsoleConfiguration configuration) throws IOException
    {
        session = new ConsoleSession("t", dir.resolve("logs/guest-t.log"), dir.resolve("run/t.sock"), configuration,
            ConsoleCounters.detached("console t"));
        return new ConsolePump(new ConsoleRing(page), session);
    }

    @Test
    void shouldKeepAFloodingGuestsLogWithinItsCapAndRotationAndThrottleItPastItsAllowance() throws Exception
    {
        final long cap = 16 * 1024;
        final int allowance = 8 * 1024;
        final ConsolePump pump = pump(new ConsoleConfiguration(cap, allowance, 200));
        final byte[] flood = floodOf(1024 * 1024);

        long now = 0;
        int written = 0;
        int idleWithOutputWaiting = 0;
        for (int pass = 0; written < flood.length || unread() > 0; pass++)
        {
            assertThat(pass).as("passes for a 1 MiB flood").isLessThan(100_000);
            written += guestWrite(flood, written, flood.length - written);
            final int waiting = unread();
            if (pump.transfer(now) == 0 && waiting > 0)
            {
                // Throttled: no work to report, the output stays on the page; the next period brings more.
                idleWithOutputWaiting++;
                assertThat(pump.throttled(now)).isTrue();
                now += PERIOD_NANOS;
            }
        }

        final Path log = session.logPath();
        final Path old = session.rotatedLogPath();
        assertThat(Files.size(log)).as("log").isLessThanOrEqualTo(cap);
        assertThat(Files.size(old)).as("log.1").isLessThanOrEqualTo(cap);
        assertThat(session.counters().logRotations().get()).isGreaterThan(1);
        // Held back, not lost: all of it was taken, allowance by allowance, and the logs end with its last bytes.
        assertThat(session.counters().outputBytes().get()).isEqualTo(flood.length);
        final long periods = flood.length / allowance;
        assertThat(session.counters().throttled().get()).isBetween(periods - 1, periods);
        assertThat(idleWithOutputWaiting).isEqualTo((int)session.counters().throttled().get());
        final ByteArrayOutputStream kept = new ByteArrayOutputStream();
        kept.write(Files.readAllBytes(old));
        kept.write(Files.readAllBytes(log));
        final String tail = new String(flood, flood.length - kept.size(), kept.size(), StandardCharsets.US_ASCII);
        assertThat(kept.toString(StandardCharsets.US_ASCII)).isEqualTo(tail);
    }

    @Test
    void shouldTakeNoMoreThanTheAllowanceInAPeriodAndTheRestInTheNext() throws Exception
    {
        final ConsolePump pump = pump(ConsoleConfiguration.defaults().withRateLimit(3000, 200));
        final byte[] text = floodOf(4096);

        assertThat(guestWrite(text, 0, OUT_SIZE)).isEqualTo(OUT_SIZE);
        assertThat(pump.transfer(0)).isEqualTo(OUT_SIZE);
        assertThat(guestWrite(text, OUT_SIZE, OUT_SIZE)).isEqualTo(OUT_SIZE);
        assertThat(pump.transfer(1)).as("what is left of the allowance").isEqualTo(3000 - OUT_SIZE);
        assertThat(session.counters().throttled().get()).as("periods with output held back").isEqualTo(1);
        assertThat(pump.transfer(2)).as("nothing more this period").isZero();
        assertThat(pump.throttled(PERIOD_NANOS - 1)).isTrue();
        assertThat(unread()).isEqualTo(2 * OUT_SIZE - 3000);
        assertThat(session.counters().throttled().get()).as("each throttled period counted once").isEqualTo(1);

        assertThat(pump.throttled(PERIOD_NANOS)).isFalse();
        assertThat(pump.transfer(PERIOD_NANOS)).isEqualTo(2 * OUT_SIZE - 3000);
        assertThat(unread()).isZero();
        assertThat(Files.readString(session.logPath(), StandardCharsets.US_ASCII))
            .isEqualTo(new String(text, StandardCharsets.US_ASCII));
        assertThat(session.counters().throttled().get()).isEqualTo(1);
    }

    @Test
    void shouldStillGiveTheGuestItsInputWhileItsOutputIsHeldBack() throws Exception
    {
        final ConsolePump pump = pump(ConsoleConfiguration.defaults().withRateLimit(1000, 200));
        final byte[] text = floodOf(OUT_SIZE);
        guestWrite(text, 0, OUT_SIZE);
        assertThat(pump.transfer(0)).isEqualTo(1000);
        assertThat(pump.throttled(1)).isTrue();

        final byte[] typed = "\u0003".getBytes(StandardCharsets.US_ASCII);
        session.offerInput(typed, 0, typed.length);

        assertThat(pump.transfer(1)).as("only the input moves").isEqualTo(1);
        assertThat(page.getInt(IN_PROD_OFFSET)).isEqualTo(1);
        assertThat(unread()).isEqualTo(OUT_SIZE - 1000);
    }

    @Test
    void shouldTakeEverythingAtOnceWithoutARateLimit() throws Exception
    {
        final ConsolePump pump = pump(ConsoleConfiguration.defaults().withRateLimit(0, 200));
        final byte[] flood = floodOf(64 * 1024);

        int written = 0;
        while (written < flood.length)
        {
            written += guestWrite(flood, written, flood.length - written);
            assertThat(pump.transfer(0)).isEqualTo(OUT_SIZE);
        }

        assertThat(pump.throttled(0)).isFalse();
        assertThat(session.counters().throttled().get()).isZero();
        assertThat(Files.size(session.logPath())).isEqualTo(flood.length);
    }

    /**
     * @return numbered lines, so that a piece of the flood says where it came from.
     */
    @Test
    void shouldSleepUntilTheGuestsNextEventUnlessItsOutputWaitsForTheNextPeriod() throws Exception
    {
        // A hundred secondary consoles woken every millisecond took most of a CPU of dom0j serve.
        final ConsolePump pump = pump(new ConsoleConfiguration(0, 1024, 200));
        assertThat(pump.idleWaitNanos(null, 0)).isEqualTo(ConsolePump.IDLE_WAIT_NANOS);
        guestWrite(floodOf(2048), 0, 2048);

        assertThat(pump.transfer(0)).isEqualTo(1024);
        // The other 1024 bytes wait for the next period, 200 ms after the first look: no event will say so.
        assertThat(pump.idleWaitNanos(null, TimeUnit.MILLISECONDS.toNanos(50)))
            .isEqualTo(TimeUnit.MILLISECONDS.toNanos(150));
        assertThat(pump.transfer(PERIOD_NANOS)).isEqualTo(1024);
        assertThat(pump.idleWaitNanos(null, PERIOD_NANOS)).isEqualTo(ConsolePump.IDLE_WAIT_NANOS);
    }

    private static byte[] floodOf(final int length)
    {
        final StringBuilder sb = new StringBuilder(length + 32);
        for (int line = 0; sb.length() < length; line++)
        {
            sb.append(String.format(java.util.Locale.ROOT, "flood line %08d\n", line));
        }
        sb.setLength(length);
        return sb.toString().getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * What hvc_xen does: copy as much as fits into out[] and publish out_prod after the bytes.
     */
    private int guestWrite(final byte[] data, final int offset, final int length)
    {
        final int cons = page.getIntVolatile(OUT_CONS_OFFSET);
        int prod = page.getInt(OUT_PROD_OFFSET);
        int sent = 0;
        while (sent < length && prod - cons < OUT_SIZE)
        {
            page.putByte(outOffset(prod++), data[offset + sent++]);
        }
        page.putIntRelease(OUT_PROD_OFFSET, prod);
        return sent;
    }

    private int unread()
    {
        return page.getIntVolatile(OUT_PROD_OFFSET) - page.getIntVolatile(OUT_CONS_OFFSET);
    }
}
