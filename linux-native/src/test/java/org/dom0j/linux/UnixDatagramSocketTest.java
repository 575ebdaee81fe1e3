package org.dom0j.linux;

import org.dom0j.common.Errno;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(20)
class UnixDatagramSocketTest
{
    @TempDir
    Path dir;

    @Test
    void shouldDeliverADatagramToAnAbstractName()
    {
        final String name = "@dom0j-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        try (UnixDatagramSocket receiver = UnixDatagramSocket.bind(name);
            UnixDatagramSocket sender = UnixDatagramSocket.open())
        {
            final byte[] message = "READY=1\nSTATUS=serving".getBytes(StandardCharsets.UTF_8);
            assertThat(sender.send(name, message)).isEqualTo(message.length);
            assertThat(receiver.receive(5_000, 4096)).isEqualTo("READY=1\nSTATUS=serving");
        }
    }

    @Test
    void shouldDeliverADatagramToAPathAndNothingMore()
    {
        final String path = dir.resolve("notify").toString();
        try (UnixDatagramSocket receiver = UnixDatagramSocket.bind(path);
            UnixDatagramSocket sender = UnixDatagramSocket.open())
        {
            assertThat(sender.send(path, "STOPPING=1".getBytes(StandardCharsets.UTF_8))).isEqualTo(10);
            assertThat(receiver.receive(5_000, 4096)).isEqualTo("STOPPING=1");
            assertThat(receiver.receive(0, 4096)).isNull();
        }
    }

    @Test
    void shouldReturnMinusTheErrnoWhenNoOneIsBound()
    {
        try (UnixDatagramSocket sender = UnixDatagramSocket.open())
        {
            assertThat(sender.send(dir.resolve("nobody").toString(), new byte[]{ 1 }))
                .isEqualTo(-Errno.ENOENT.number());
            assertThat(sender.send("@dom0j-nobody-" + System.nanoTime(), new byte[]{ 1 }))
                .isEqualTo(-Errno.ECONNREFUSED.number());
        }
    }

    @Test
    void shouldRefuseANameLongerThanSunPath()
    {
        assertThatThrownBy(() -> UnixDatagramSocket.bind("/" + "x".repeat(107)))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 to 107 bytes");
    }
}
