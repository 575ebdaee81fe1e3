package org.dom0j.protocol.blkif;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Byte-exact fixtures for {@link BlkifResponseFlyweight}: each field lands little-endian at its offset of
 * {@code struct blkif_response} (id u64 at 0, operation u8 at 8, status i16 at 10), nothing else is written, and
 * the fields read back with the C types' ranges.
 */
@Timeout(10)
class BlkifResponseFlyweightTest
{
    private final UnsafeBuffer buffer = new UnsafeBuffer(new byte[48]);
    private final BlkifResponseFlyweight response = new BlkifResponseFlyweight();

    @Test
    void shouldWriteAResponseLikeTheCStruct()
    {
        response.wrap(buffer, 16).id(0x0102030405060708L).operation(BlkifConstants.BLKIF_OP_INDIRECT)
            .status(BlkifConstants.BLKIF_RSP_EOPNOTSUPP);

        assertThat(bytes(16, 16)).containsExactly(
            0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x06, 0x00, 0xFE, 0xFF, 0x00, 0x00, 0x00, 0x00);
        assertThat(bytes(0, 16)).as("nothing before the response").containsOnly(0);
        assertThat(bytes(32, 16)).as("nothing after it").containsOnly(0);
    }

    @Test
    void shouldReadTheOperationUnsignedAndTheStatusSigned()
    {
        buffer.putLong(0, -1L);
        buffer.putByte(8, (byte)0xFF);
        buffer.putByte(10, (byte)0xFF);
        buffer.putByte(11, (byte)0xFF);

        response.wrap(buffer, 0);
        assertThat(response.id()).isEqualTo(-1L);
        assertThat(response.operation()).isEqualTo(255);
        assertThat(response.status()).isEqualTo(BlkifConstants.BLKIF_RSP_ERROR);
    }

    @Test
    void shouldLeaveThePaddingByteAloneWhenWritingTheFields()
    {
        // Byte 9 is padding: the flyweight writes only the fields; the ring zeroes the slot before (XSA-216).
        buffer.setMemory(0, 16, (byte)0xAA);
        response.wrap(buffer, 0).id(7).operation(BlkifConstants.BLKIF_OP_READ).status(BlkifConstants.BLKIF_RSP_OKAY);

        assertThat(bytes(0, 16)).containsExactly(
            0x07, 0, 0, 0, 0, 0, 0, 0, 0x00, 0xAA, 0x00, 0x00, 0xAA, 0xAA, 0xAA, 0xAA);
    }

    @ParameterizedTest
    @EnumSource(BlkifAbi.class)
    void shouldFitTheFieldsInTheResponseOfEitherAbi(final BlkifAbi abi)
    {
        // The last field ends at 12: the whole of an x86_32 response, the x86_64 one padded to 16.
        assertThat(BlkifResponseDescriptor.STATUS_OFFSET + Short.BYTES).isLessThanOrEqualTo(abi.responseSize());
        assertThat(abi.responseSize()).isEqualTo(abi == BlkifAbi.X86_64 ? 16 : 12);
    }

    private int[] bytes(final int offset, final int length)
    {
        final int[] out = new int[length];
        for (int i = 0; i < length; i++)
        {
            out[i] = buffer.getByte(offset + i) & 0xFF;
        }
        return out;
    }
}
