package org.dom0j.netback;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * serve's side of {@code dom0j capture}: a ring named after a vif in the capture directory receives that vif's frames
 * both ways, whole (copies by reference are off while it runs); when its reader stops beating the heartbeat, serve
 * lets it go.
 */
@Timeout(60)
class CaptureTest
{
    private static final long MAC_A = 0x00163E000031L;
    private static final long MAC_B = 0x00163E000032L;

    @TempDir
    Path dir;

    private NetbackHarness net;

    @AfterEach
    void stop()
    {
        if (null != net)
        {
            net.close();
            assertThat(net.errors).isEmpty();
        }
    }

    @Test
    void shouldCaptureAVifsFramesBothWaysWholeAndLetTheRingGoWhenItsReaderStops()
    {
        net = new NetbackHarness(dir, NetbackConfiguration.fromSystemProperties()
            .withMode(NetbackConfiguration.Mode.SWITCH));
        final TestNetfront a = net.guest(1, MAC_A, Map.of());
        final TestNetfront b = net.guest(2, MAC_B, Map.of());
        a.postRx(16);
        b.postRx(16);
        final Path captures = dir.resolve("capture");
        net.vif.captureDirectory(captures);
        try (CaptureRing ring = CaptureRing.create(captures.resolve("vif2.0"), 65535))
        {
            final Vif vif2 = vif(b);
            net.pumpUntil(vif2::isCaptured);
            final byte[] toB = TestFrames.raw(MAC_B, MAC_A, 1500, 1);
            final byte[] fromB = TestFrames.raw(MAC_A, MAC_B, 700, 2);
            a.send(toB, 0, 0, 0);
            b.send(fromB, 0, 0, 0);
            net.pump();

            final List<int[]> records = new ArrayList<>();
            final List<byte[]> bytes = new ArrayList<>();
            ring.read((type, buffer, index, length) ->
            {
                records.add(new int[]{ CaptureRing.recordDirection(buffer, index),
                    CaptureRing.recordLength(buffer, index) });
                final byte[] data = new byte[length - CaptureRing.recordHeaderLength()];
                buffer.getBytes(index + CaptureRing.recordHeaderLength(), data);
                bytes.add(data);
            }, 100);
            assertThat(records).extracting(r -> r[0] + "/" + r[1])
                .containsExactlyInAnyOrder(CaptureRing.TO_GUEST + "/1500", CaptureRing.FROM_GUEST + "/700");
            assertThat(bytes).contains(toB, fromB);
            assertThat(b.rxPackets).extracting(TestNetfront.RxPacket::data).containsExactly(toB);

            // The reader stops beating: serve lets the ring go, and frames go by reference again.
            net.pumpUntil(() -> !vif2.isCaptured());
        }
    }

    @Test
    void shouldCaptureTheLocalBytesOfAFrameWhoseTailIsStillInGrantsAndGoOnCapturing()
    {
        // A large frame from a guest goes by reference (its headers copied, the rest left in the guest's grants)
        // when the vif was not captured as its batch was planned; a capture that starts just then sees it split.
        final Path file = dir.resolve("vif9.0");
        try (CaptureRing reader = CaptureRing.create(file, 65535);
            CaptureRing writer = CaptureRing.open(file))
        {
            final UnsafeBuffer local = new UnsafeBuffer(ByteBuffer.allocateDirect(8192));
            for (int i = 0; i < local.capacity(); i++)
            {
                local.putByte(i, (byte)i);
            }
            final Frame split = new Frame().split(local.addressOffset(), 64, 6000);
            split.addSegment(5, 7, 0, 4096);
            split.addSegment(5, 8, 0, 6000 - 64 - 4096);
            writer.write(split, CaptureRing.FROM_GUEST);
            writer.write(new Frame().local(local.addressOffset(), 700), CaptureRing.TO_GUEST);

            final List<String> records = new ArrayList<>();
            final List<byte[]> bytes = new ArrayList<>();
            reader.read((type, buffer, index, length) ->
            {
                records.add(CaptureRing.recordDirection(buffer, index) + "/" + CaptureRing.recordLength(buffer, index));
                final byte[] data = new byte[length - CaptureRing.recordHeaderLength()];
                buffer.getBytes(index + CaptureRing.recordHeaderLength(), data);
                bytes.add(data);
            }, 100);
            assertThat(records).containsExactly(CaptureRing.FROM_GUEST + "/6000", CaptureRing.TO_GUEST + "/700");
            final byte[] header = new byte[64];
            local.getBytes(0, header);
            final byte[] whole = new byte[700];
            local.getBytes(0, whole);
            assertThat(bytes).containsExactly(header, whole);
            assertThat(reader.dropped()).isZero();
        }
    }

    private Vif vif(final TestNetfront guest)
    {
        return net.vif.vifForTests(guest.backendPath);
    }
}
