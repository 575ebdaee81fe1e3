package org.dom0j.protocol.netif;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Byte-exact fixtures for the netif flyweights: each field lands little-endian at its offset, and reads back with the
 * C type's range (u16 unsigned, s16 signed).
 */
class NetifFlyweightTest
{
    private final UnsafeBuffer buffer = new UnsafeBuffer(new byte[32]);

    @Test
    void shouldWriteATxRequestLikeTheCStruct()
    {
        new NetifTxRequestFlyweight().wrap(buffer, 4).gref(0x11223344).pageOffset(0xFFFE)
            .flags(NetifConstants.NETTXF_MORE_DATA | NetifConstants.NETTXF_CSUM_BLANK).id(0xBEEF).size(0xFFFF);

        assertThat(bytes(4, 12)).containsExactly(
            0x44, 0x33, 0x22, 0x11, 0xFE, 0xFF, 0x05, 0x00, 0xEF, 0xBE, 0xFF, 0xFF);
        final NetifTxRequestFlyweight read = new NetifTxRequestFlyweight().wrap(buffer, 4);
        assertThat(read.pageOffset()).isEqualTo(0xFFFE);
        assertThat(read.id()).isEqualTo(0xBEEF);
        assertThat(read.size()).isEqualTo(0xFFFF);
    }

    @Test
    void shouldWriteResponsesWithSignedStatus()
    {
        new NetifTxResponseFlyweight().wrap(buffer, 0).id(7).status(NetifConstants.NETIF_RSP_DROPPED);
        assertThat(bytes(0, 4)).containsExactly(0x07, 0x00, 0xFE, 0xFF);
        assertThat(new NetifTxResponseFlyweight().wrap(buffer, 0).status()).isEqualTo(-2);

        new NetifRxResponseFlyweight().wrap(buffer, 8).id(3).pageOffset(64)
            .flags(NetifConstants.NETRXF_EXTRA_INFO).status(1514);
        assertThat(bytes(8, 8)).containsExactly(0x03, 0x00, 0x40, 0x00, 0x08, 0x00, 0xEA, 0x05);
    }

    @Test
    void shouldOverlayGsoHashAndMulticastInOneExtraInfo()
    {
        final NetifExtraInfoFlyweight extra = new NetifExtraInfoFlyweight().wrap(buffer, 0);
        extra.type(NetifConstants.XEN_NETIF_EXTRA_TYPE_GSO).flags(NetifConstants.XEN_NETIF_EXTRA_FLAG_MORE)
            .gsoSize(1448).gsoType(NetifConstants.XEN_NETIF_GSO_TYPE_TCPV6).gsoFeatures(0);
        assertThat(bytes(0, 8)).containsExactly(0x01, 0x01, 0xA8, 0x05, 0x02, 0x00, 0x00, 0x00);

        extra.type(NetifConstants.XEN_NETIF_EXTRA_TYPE_MCAST_ADD).mcastAddress(0x01005E0000FBL);
        assertThat(bytes(2, 6)).containsExactly(0x01, 0x00, 0x5E, 0x00, 0x00, 0xFB);
        assertThat(extra.mcastAddress()).isEqualTo(0x01005E0000FBL);

        extra.type(NetifConstants.XEN_NETIF_EXTRA_TYPE_HASH)
            .hashType(NetifConstants.XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP_BIT)
            .hashAlgorithm(NetifConstants.XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ).hashValue(0xA1B2C3D4);
        assertThat(bytes(2, 6)).containsExactly(0x01, 0x01, 0xD4, 0xC3, 0xB2, 0xA1);
    }

    @Test
    void shouldReadCtrlRequestsAndWriteResponses()
    {
        new NetifCtrlRequestFlyweight().wrap(buffer, 0).id(9)
            .type(NetifConstants.XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING).data0(100).data1(128).data2(-1);
        final NetifCtrlRequestFlyweight request = new NetifCtrlRequestFlyweight().wrap(buffer, 0);
        assertThat(request.type()).isEqualTo(6);
        assertThat(Integer.toUnsignedLong(request.data2())).isEqualTo(0xFFFF_FFFFL);

        new NetifCtrlResponseFlyweight().wrap(buffer, 16).id(9).type(6)
            .status(NetifConstants.XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER).data(0);
        assertThat(bytes(16, 12)).containsExactly(0x09, 0x00, 0x06, 0x00, 0x02, 0x00, 0x00, 0x00, 0, 0, 0, 0);
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
