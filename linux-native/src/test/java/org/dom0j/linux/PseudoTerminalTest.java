package org.dom0j.linux;

import org.dom0j.common.Errno;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A pty pair: raw both ways, the master non-blocking.
 */
@Timeout(60)
class PseudoTerminalTest
{
    @Test
    void shouldCarryBytesUnchangedBothWaysInRawMode()
    {
        try (PseudoTerminal pty = PseudoTerminal.open())
        {
            assertThat(pty.slavePath()).startsWith("/dev/pts/");
            final ByteBuffer buffer = LibC.allocate(64);
            final long address = LibC.address(buffer);
            assertThat(Linux.read(pty.master(), address, 64)).isEqualTo(-Errno.EAGAIN.number());

            // Cooked mode would echo, turn \r into \n on input and \n into \r\n on output.
            assertThat(transfer(pty.master(), pty.slave(), "in\r\n", buffer)).isEqualTo("in\r\n");
            assertThat(transfer(pty.slave(), pty.master(), "out\n", buffer)).isEqualTo("out\n");
            assertThat(Linux.read(pty.master(), address, 64)).isEqualTo(-Errno.EAGAIN.number());
        }
    }

    private static String transfer(final int from, final int to, final String text, final ByteBuffer buffer)
    {
        final byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        buffer.put(0, bytes);
        assertThat(Linux.write(from, LibC.address(buffer), bytes.length)).isEqualTo(bytes.length);
        final StringBuilder received = new StringBuilder();
        final PollFd readable = new PollFd(to, Linux.POLLIN);
        while (received.length() < bytes.length && readable.poll(10_000) > 0)
        {
            final long n = Linux.read(to, LibC.address(buffer), 64);
            assertThat(n).isPositive();
            final byte[] got = new byte[(int)n];
            buffer.get(0, got);
            received.append(new String(got, StandardCharsets.US_ASCII));
        }
        return received.toString();
    }
}
