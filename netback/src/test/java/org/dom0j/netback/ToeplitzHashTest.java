package org.dom0j.netback;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.test.CProgram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link ToeplitzHash} against Microsoft's published RSS verification suite ("Verifying the RSS Hash Calculation":
 * its 40-byte key and its IPv4, IPv4/TCP, IPv6 and IPv6/TCP examples, input = source address, destination address,
 * source port, destination port) and against netif.h's own {@code xen_netif_toeplitz_hash}, compiled from
 * {@code /usr/include/xen/io/netif.h} and run on random keys of 0 to 40 bytes and random inputs of 0 to 48 bytes.
 */
@Timeout(60)
class ToeplitzHashTest
{
    /** Microsoft's RSS verification key. */
    static final byte[] MS_KEY = HexFormat.of().parseHex(
        "6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa");

    @TempDir
    Path dir;

    private static int hash(final byte[] key, final byte[] input)
    {
        return ToeplitzHash.hash(key, key.length, new UnsafeBuffer(input), 0, input.length);
    }

    @ParameterizedTest(name = "{0}:{2} -> {1}:{3}")
    @CsvSource({
        "66.9.149.187,   161.142.100.80, 2794,  1766,  0x323e8fc2, 0x51ccc178",
        "199.92.111.2,   65.69.140.83,   14230, 4739,  0xd718262a, 0xc626b0ea",
        "24.19.198.95,   12.22.207.184,  12898, 38024, 0xd2d0a5de, 0x5c2b394a",
        "38.27.205.30,   209.142.163.6,  48228, 2217,  0x82989176, 0xafc7327f",
        "153.39.163.191, 202.188.127.2,  44251, 1303,  0x5d1809c5, 0x10e828a2",
    })
    void shouldMatchMicrosoftsIpv4Examples(final String src, final String dst, final int sport, final int dport,
        final String ipv4, final String ipv4Tcp)
    {
        final TestFlow flow = TestFlow.ipv4(PacketHeaders.IPPROTO_TCP, src, dst, sport, dport);
        assertThat(hash(MS_KEY, flow.hashInput(false))).isEqualTo(Integer.parseUnsignedInt(ipv4.substring(2), 16));
        assertThat(hash(MS_KEY, flow.hashInput(true))).isEqualTo(Integer.parseUnsignedInt(ipv4Tcp.substring(2), 16));
    }

    @ParameterizedTest(name = "[{0}]:{2} -> [{1}]:{3}")
    @CsvSource({
        "3ffe:2501:200:1fff::7,              3ffe:2501:200:3::1,       2794,  1766,  0x2cc18cd5, 0x40207d3d",
        "3ffe:501:8::260:97ff:fe40:efab,     ff02::1,                  14230, 4739,  0x0f0c461c, 0xdde51bbf",
        "3ffe:1900:4545:3:200:f8ff:fe21:67cf, fe80::200:f8ff:fe21:67cf, 44251, 38024, 0x4b61e985, 0x02d1feef",
    })
    void shouldMatchMicrosoftsIpv6Examples(final String src, final String dst, final int sport, final int dport,
        final String ipv6, final String ipv6Tcp)
    {
        final TestFlow flow = TestFlow.ipv6(PacketHeaders.IPPROTO_TCP, src, dst, sport, dport);
        assertThat(hash(MS_KEY, flow.hashInput(false))).isEqualTo(Integer.parseUnsignedInt(ipv6.substring(2), 16));
        assertThat(hash(MS_KEY, flow.hashInput(true))).isEqualTo(Integer.parseUnsignedInt(ipv6Tcp.substring(2), 16));
    }

    @Test
    void shouldHashToZeroWithAnEmptyKeyOrInput()
    {
        assertThat(hash(new byte[0], new byte[]{ 1, 2, 3, 4 })).isZero();
        assertThat(hash(MS_KEY, new byte[0])).isZero();
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = { 1, 2, 3 })
    void shouldHashPiecesAtTheirPositionAsTheWholeInput(final long seed)
    {
        final Random random = new Random(seed);
        for (int n = 0; n < 1000; n++)
        {
            final byte[] key = new byte[random.nextInt(ToeplitzHash.MAX_KEY_LENGTH + 1)];
            random.nextBytes(key);
            final byte[] input = new byte[random.nextInt(40)];
            random.nextBytes(input);
            final int split = random.nextInt(input.length + 1);
            final UnsafeBuffer b = new UnsafeBuffer(input);
            final int pieces = ToeplitzHash.hash(key, key.length, 0, b, 0, split) ^
                ToeplitzHash.hash(key, key.length, split, b, split, input.length - split);
            assertThat(pieces).as("seed %d case %d", seed, n).isEqualTo(hash(key, input));
        }
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = { 11, 12 })
    void shouldAgreeWithNetifHsOwnToeplitzOnRandomKeysAndInputs(final long seed) throws Exception
    {
        final Random random = new Random(seed);
        final int cases = 400;
        final StringBuilder lines = new StringBuilder();
        final int[] expected = new int[cases];
        for (int n = 0; n < cases; n++)
        {
            final byte[] key = new byte[random.nextInt(ToeplitzHash.MAX_KEY_LENGTH + 1)];
            random.nextBytes(key);
            final byte[] input = new byte[random.nextInt(49)];
            random.nextBytes(input);
            lines.append(hex(key)).append(' ').append(hex(input)).append('\n');
            expected[n] = hash(key, input);
        }
        final Path cases0 = dir.resolve("cases.txt");
        Files.writeString(cases0, lines, StandardCharsets.US_ASCII);
        final Map<String, Long> c = CProgram.run(dir, "xen/io/netif.h", C_PROGRAM, cases0.toString());
        assertThat(c).as("seed %d: the C program's results", seed).hasSize(cases);
        for (int n = 0; n < cases; n++)
        {
            assertThat(c.get("h" + n).intValue()).as("seed %d case %d: %s", seed, n, lines.toString().split("\n")[n])
                .isEqualTo(expected[n]);
        }
    }

    private static String hex(final byte[] bytes)
    {
        return bytes.length == 0 ? "-" : HexFormat.of().formatHex(bytes);
    }

    /** Reads "keyhex inputhex" lines ("-" for empty) and prints "h<n> <hash>" with netif.h's function. */
    private static final String C_PROGRAM = """
        #include <stddef.h>
        #include <stdint.h>
        #include <stdio.h>
        #include <string.h>
        #include <xen/xen.h>
        #define XEN_NETIF_DEFINE_TOEPLITZ
        #include <xen/io/netif.h>

        static unsigned int unhex(const char *s, uint8_t *out)
        {
            unsigned int n = 0;
            if (strcmp(s, "-") == 0)
                return 0;
            while (s[0] && s[1]) {
                unsigned int v;
                sscanf(s, "%2x", &v);
                out[n++] = (uint8_t)v;
                s += 2;
            }
            return n;
        }

        int main(int argc, char **argv)
        {
            char k[256], b[256];
            uint8_t key[128], buf[128];
            unsigned int n = 0;
            FILE *f = fopen(argv[1], "r");
            if (!f)
                return 1;
            while (fscanf(f, "%255s %255s", k, b) == 2) {
                unsigned int kl = unhex(k, key), bl = unhex(b, buf);
                printf("h%u %u\\n", n++, (unsigned int)xen_netif_toeplitz_hash(key, kl, buf, bl));
            }
            fclose(f);
            return 0;
        }
        """;
}
