package org.dom0j.nbd;

import org.dom0j.test.NbdServerProcess;

import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.Random;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What qemu-nbd does that needs a test of its own: named exports (and a name it does not know), read-only exports,
 * and reads of a sparse image, which it answers with hole chunks.
 */
@Timeout(60)
class NbdQemuNbdTest
{
    @TempDir
    Path dir;

    private NbdServerProcess server;

    @AfterEach
    void stopServer()
    {
        if (server != null)
        {
            server.close();
        }
    }

    @Test
    void shouldRefuseAnExportTheServerDoesNotHaveSayingItDoesNotExist() throws Exception
    {
        final Path image = NbdServerIoTest.writeImage(dir.resolve("disk.img"), new Random(4), 1 << 20);
        server = NbdServerProcess.qemuNbd(dir, image, "-x", "disk");

        assertThatThrownBy(() -> NbdConnection.connect(NbdUri.parse(server.uri("nosuch")), 4))
            .isInstanceOfSatisfying(NbdException.class, ex ->
                assertThat(ex.optionReply()).isEqualTo(NbdConstants.NBD_REP_ERR_UNKNOWN))
            .hasMessageContaining("export 'nosuch' does not exist on the server")
            .hasMessageContaining("NBD_REP_ERR_UNKNOWN")
            .hasMessageContaining("server says");

        try (NbdConnection nbd = NbdConnection.connect(NbdUri.parse(server.uri("disk")), 4))
        {
            assertThat(nbd.export().name()).isEqualTo("disk");
            assertThat(nbd.export().size()).isEqualTo(1 << 20);
        }
    }

    @Test
    void shouldRefuseWritesTrimsAndZeroingOnAReadOnlyExportWithEpermAndStillRead() throws Exception
    {
        final Path image = NbdServerIoTest.writeImage(dir.resolve("disk.img"), new Random(5), 1 << 20);
        server = NbdServerProcess.qemuNbd(dir, image, "-r");
        final NativeMemory memory = new NativeMemory(4096);

        try (NbdConnection nbd = NbdConnection.connect(NbdUri.parse(server.uri()), 4))
        {
            assertThat(nbd.export().isReadOnly()).isTrue();
            assertThat(Completions.run(nbd, cookie -> nbd.submitWrite(cookie, 0, 4096, memory.address, false)))
                .isEqualTo(NbdConstants.EPERM);
            assertThat(Completions.run(nbd, cookie -> nbd.submitTrim(cookie, 0, 4096))).isEqualTo(NbdConstants.EPERM);
            assertThat(Completions.run(nbd, cookie -> nbd.submitWriteZeroes(cookie, 0, 4096, false)))
                .isEqualTo(NbdConstants.EPERM);
            assertThat(Completions.run(nbd, cookie -> nbd.submitRead(cookie, 8192, 4096, memory.address))).isZero();
            assertThat(memory.bytes(0, 4096)).isEqualTo(NbdServerIoTest.fileRange(image, 8192, 4096));
        }
    }

    @Test
    void shouldZeroFillTheHolesOfASparseImageThatTheServerAnswersWithHoleChunks() throws Exception
    {
        final Path image = dir.resolve("sparse.img");
        final byte[] data = new byte[64 << 10];
        new Random(6).nextBytes(data);
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw"))
        {
            file.setLength(8 << 20);
            file.seek(1 << 20);
            file.write(data);
        }
        server = NbdServerProcess.qemuNbd(dir, image);
        final NativeMemory memory = new NativeMemory(2 << 20);
        memory.fill(0, 2 << 20, (byte)0xAA);

        try (NbdConnection nbd = NbdConnection.connect(NbdUri.parse(server.uri()), 4))
        {
            assertThat(Completions.run(nbd, cookie -> nbd.submitRead(cookie, 0, 2 << 20, memory.address))).isZero();

            assertThat(nbd.holeChunksReceived()).as("hole chunks").isPositive();
            assertThat(nbd.dataChunksReceived()).as("data chunks").isPositive();
        }
        assertThat(memory.bytes(0, 1 << 20)).containsOnly(0);
        assertThat(memory.bytes(1 << 20, data.length)).isEqualTo(data);
        assertThat(memory.bytes((1 << 20) + data.length, (1 << 20) - data.length)).containsOnly(0);
    }
}
