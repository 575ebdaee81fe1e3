package org.dom0j.console;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.dom0j.protocol.console.XenconsDescriptor.IN_CONS_OFFSET;
import static org.dom0j.protocol.console.XenconsDescriptor.IN_PROD_OFFSET;
import static org.dom0j.protocol.console.XenconsDescriptor.IN_SIZE;
import static org.dom0j.protocol.console.XenconsDescriptor.OUT_CONS_OFFSET;
import static org.dom0j.protocol.console.XenconsDescriptor.OUT_PROD_OFFSET;
import static org.dom0j.protocol.console.XenconsDescriptor.OUT_SIZE;
import static org.dom0j.protocol.console.XenconsDescriptor.inOffset;
import static org.dom0j.protocol.console.XenconsDescriptor.outOffset;

/**
 * The backend's end of the console page against a guest written here by hand (as hvc_xen writes it): bytes across
 * the 2^32 index wrap, a full ring, and hostile indices.
 */
@Timeout(10)
class ConsoleRingTest
{
    private final UnsafeBuffer page = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));

    private void guestWrites(final String text)
    {
        int prod = page.getInt(OUT_PROD_OFFSET);
        for (final byte b : text.getBytes(StandardCharsets.US_ASCII))
        {
            page.putByte(outOffset(prod++), b);
        }
        page.putIntRelease(OUT_PROD_OFFSET, prod);
    }

    private String guestReads()
    {
        int cons = page.getInt(IN_CONS_OFFSET);
        final int prod = page.getIntVolatile(IN_PROD_OFFSET);
        final StringBuilder sb = new StringBuilder();
        while (cons != prod)
        {
            sb.append((char)page.getByte(inOffset(cons++)));
        }
        page.putIntRelease(IN_CONS_OFFSET, cons);
        return sb.toString();
    }

    @ParameterizedTest
    @ValueSource(ints = { 0, 0xFFFF_FFF0, 0x7FFF_FFFE, 2047 })
    void shouldCarryBytesBothWaysAcrossTheIndexWrap(final int start)
    {
        page.putInt(OUT_CONS_OFFSET, start);
        page.putInt(OUT_PROD_OFFSET, start);
        page.putInt(IN_CONS_OFFSET, start);
        page.putInt(IN_PROD_OFFSET, start);
        final ConsoleRing ring = new ConsoleRing(page);
        final Random random = new Random(start);
        final byte[] dst = new byte[OUT_SIZE];
        for (int round = 0; round < 50; round++)
        {
            final String text = "line " + round + " " + "x".repeat(random.nextInt(60)) + "\n";
            guestWrites(text);
            final int n = ring.readOutput(dst, 0, dst.length);
            assertThat(new String(dst, 0, n, StandardCharsets.US_ASCII)).isEqualTo(text);
            assertThat(page.getInt(OUT_CONS_OFFSET)).isEqualTo(page.getInt(OUT_PROD_OFFSET));

            final byte[] typed = ("typed " + round).getBytes(StandardCharsets.US_ASCII);
            assertThat(ring.writeInput(typed, 0, typed.length)).isEqualTo(typed.length);
            assertThat(guestReads()).isEqualTo("typed " + round);
        }
        assertThat(ring.violation()).isNull();
    }

    @Test
    void shouldTakeAWholeRingOfOutputButNoMore()
    {
        final ConsoleRing ring = new ConsoleRing(page);
        guestWrites("a".repeat(OUT_SIZE));
        final byte[] dst = new byte[OUT_SIZE + 100];

        assertThat(ring.unreadOutput()).isEqualTo(OUT_SIZE);
        assertThat(ring.readOutput(dst, 0, 100)).isEqualTo(100);
        assertThat(ring.readOutput(dst, 0, dst.length)).isEqualTo(OUT_SIZE - 100);
        assertThat(ring.violation()).isNull();
    }

    @Test
    void shouldStopAtAFullInputRingAndGoOnWhenTheGuestReads()
    {
        final ConsoleRing ring = new ConsoleRing(page);
        final byte[] typed = new byte[IN_SIZE + 10];

        assertThat(ring.writeInput(typed, 0, typed.length)).isEqualTo(IN_SIZE);
        assertThat(ring.writeInput(typed, 0, typed.length)).isZero();
        assertThat(guestReads()).hasSize(IN_SIZE);
        assertThat(ring.writeInput(typed, 0, 10)).isEqualTo(10);
    }

    @ParameterizedTest
    @ValueSource(ints = { OUT_SIZE + 1, 0x8000_0000, -1 })
    void shouldDisableTheRingWhenOutProdRunsMoreThanARingAhead(final int ahead)
    {
        final ConsoleRing ring = new ConsoleRing(page);
        page.putIntRelease(OUT_PROD_OFFSET, ahead);
        final byte[] dst = new byte[OUT_SIZE];

        assertThat(ring.readOutput(dst, 0, dst.length)).isZero();
        assertThat(ring.violation()).contains("out_prod").contains("> 2048");
        page.putIntRelease(OUT_PROD_OFFSET, 5);
        assertThat(ring.readOutput(dst, 0, dst.length)).as("a disabled ring stays disabled").isZero();
        assertThat(page.getInt(OUT_CONS_OFFSET)).isZero();
    }

    @Test
    void shouldDisableTheRingWhenInConsRunsAheadOfInProd()
    {
        final ConsoleRing ring = new ConsoleRing(page);
        page.putIntRelease(IN_CONS_OFFSET, 7);

        assertThat(ring.writeInput(new byte[4], 0, 4)).isZero();
        assertThat(ring.violation()).contains("in_prod").contains("> 1024");
    }

    @Test
    void shouldKeepItsOwnIndicesWhateverTheGuestWritesIntoThem()
    {
        final ConsoleRing ring = new ConsoleRing(page);
        guestWrites("hello");
        final byte[] dst = new byte[OUT_SIZE];
        assertThat(ring.readOutput(dst, 0, dst.length)).isEqualTo(5);
        page.putInt(OUT_CONS_OFFSET, 0);
        page.putInt(IN_PROD_OFFSET, 1000);

        guestWrites("!");
        assertThat(ring.readOutput(dst, 0, dst.length)).as("out_cons rewound by the guest is ignored").isEqualTo(1);
        assertThat((char)dst[0]).isEqualTo('!');
        assertThat(ring.writeInput(new byte[]{ 'k' }, 0, 1)).isEqualTo(1);
        assertThat(page.getInt(IN_PROD_OFFSET)).as("in_prod is ours").isEqualTo(1);
    }
}
