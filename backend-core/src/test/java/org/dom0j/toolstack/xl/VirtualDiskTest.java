package org.dom0j.toolstack.xl;

import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Disk names to device numbers as libxl and Linux compute them (major 202 minors, the extended form, IDE and SCSI
 * majors), and back.
 */
@Timeout(5)
class VirtualDiskTest
{
    @ParameterizedTest(name = "{0} is {1}")
    @CsvSource({
        "xvda, 51712", "xvdb, 51728", "xvda1, 51713", "xvda15, 51727", "xvdp, 51952", "xvdp15, 51967",
        "xvdq, 268439552", "xvda16, 268435472", "xvdz, 268441856", "xvdaa, 268442112", "xvdq255, 268439807",
        "d0p0, 51712", "d1p2, 51730", "d16p0, 268439552", "d0p16, 268435472",
        "hda, 768", "hda1, 769", "hdb, 832", "hdc, 5632", "hdd, 5696", "hdd63, 5759",
        "sda, 2048", "sdb, 2064", "sda1, 2049", "sdp, 2288",
        "51712, 51712", "0xca00, 51712", "0145000, 51712" })
    void shouldNumberDisksAsLibxlDoes(final String vdev, final int number)
    {
        assertThat(VirtualDisk.deviceNumber(vdev)).isEqualTo(number);
    }

    @ParameterizedTest
    @ValueSource(strings = { "vda", "xvd", "xvda0", "xvda01", "xvda256", "hde", "hda64", "sdq", "sda16", "", "-1",
        "xvdA", "d1p", "dp1", "0x", "2147483648", "09" })
    void shouldRefuseNamesLibxlDoesNotKnow(final String vdev)
    {
        assertThat(VirtualDisk.deviceNumber(vdev)).isEqualTo(-1);
    }

    @ParameterizedTest(name = "{0} is {1}")
    @CsvSource({ "51712, xvda", "51713, xvda1", "51728, xvdb", "268439552, xvdq", "268442112, xvdaa",
        "268435472, xvda16" })
    void shouldNameDeviceNumbersAsLinuxDoes(final int number, final String name)
    {
        assertThat(VirtualDisk.name(number)).isEqualTo(name);
    }
}
