package org.dom0j.protocol.blkif;

import org.dom0j.test.CProgram;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Compiles a C program against Xen's own {@code /usr/include/xen/io/blkif.h}, natively for the x86_64 ABI and
 * with {@code -m32} for the x86_32 ABI, and checks every offset and size {@link BlkifAbi} and
 * {@link BlkifConstants} use.
 */
@Timeout(60)
class BlkifLayoutConformanceTest
{
    private static final String PROGRAM = """
        #include <stdio.h>
        #include <stddef.h>
        #include <stdint.h>
        #include <xen/xen.h>
        #include <xen/io/blkif.h>
        #define P(name, value) printf("%s=%ld\\n", name, (long)(value))
        int main(void)
        {
            P("request.size", sizeof(struct blkif_request));
            P("request.operation", offsetof(struct blkif_request, operation));
            P("request.nr_segments", offsetof(struct blkif_request, nr_segments));
            P("request.handle", offsetof(struct blkif_request, handle));
            P("request.id", offsetof(struct blkif_request, id));
            P("request.sector_number", offsetof(struct blkif_request, sector_number));
            P("request.seg", offsetof(struct blkif_request, seg));
            P("segment.size", sizeof(struct blkif_request_segment));
            P("segment.first_sect", offsetof(struct blkif_request_segment, first_sect));
            P("segment.last_sect", offsetof(struct blkif_request_segment, last_sect));
            P("discard.flag", offsetof(struct blkif_request_discard, flag));
            P("discard.id", offsetof(struct blkif_request_discard, id));
            P("discard.sector_number", offsetof(struct blkif_request_discard, sector_number));
            P("discard.nr_sectors", offsetof(struct blkif_request_discard, nr_sectors));
            P("indirect.indirect_op", offsetof(struct blkif_request_indirect, indirect_op));
            P("indirect.nr_segments", offsetof(struct blkif_request_indirect, nr_segments));
            P("indirect.id", offsetof(struct blkif_request_indirect, id));
            P("indirect.sector_number", offsetof(struct blkif_request_indirect, sector_number));
            P("indirect.handle", offsetof(struct blkif_request_indirect, handle));
            P("indirect.indirect_grefs", offsetof(struct blkif_request_indirect, indirect_grefs));
            P("indirect.size", sizeof(struct blkif_request_indirect));
            P("response.size", sizeof(struct blkif_response));
            P("response.id", offsetof(struct blkif_response, id));
            P("response.operation", offsetof(struct blkif_response, operation));
            P("response.status", offsetof(struct blkif_response, status));
            P("ring.slots", __CONST_RING_SIZE(blkif, 4096));
            P("BLKIF_OP_READ", BLKIF_OP_READ);
            P("BLKIF_OP_WRITE", BLKIF_OP_WRITE);
            P("BLKIF_OP_WRITE_BARRIER", BLKIF_OP_WRITE_BARRIER);
            P("BLKIF_OP_FLUSH_DISKCACHE", BLKIF_OP_FLUSH_DISKCACHE);
            P("BLKIF_OP_RESERVED_1", BLKIF_OP_RESERVED_1);
            P("BLKIF_OP_DISCARD", BLKIF_OP_DISCARD);
            P("BLKIF_OP_INDIRECT", BLKIF_OP_INDIRECT);
            P("BLKIF_MAX_SEGMENTS_PER_REQUEST", BLKIF_MAX_SEGMENTS_PER_REQUEST);
            P("BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST", BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST);
            P("BLKIF_RSP_OKAY", BLKIF_RSP_OKAY);
            P("BLKIF_RSP_ERROR", BLKIF_RSP_ERROR);
            P("BLKIF_RSP_EOPNOTSUPP", BLKIF_RSP_EOPNOTSUPP);
            P("BLKIF_DISCARD_SECURE", BLKIF_DISCARD_SECURE);
            return 0;
        }
        """;

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(BlkifAbi.class)
    void shouldMatchXensBlkifHeader(final BlkifAbi abi) throws Exception
    {
        final Map<String, Long> c = compileAndRun(abi == BlkifAbi.X86_32 ? List.of("-m32") : List.of());

        assertThat(c.get("request.size")).isEqualTo(abi.requestSize());
        assertThat(c.get("request.operation")).isZero();
        assertThat(c.get("request.nr_segments")).isEqualTo(1);
        assertThat(c.get("request.handle")).isEqualTo(2);
        assertThat(c.get("request.id")).isEqualTo(abi.idOffset());
        assertThat(c.get("request.sector_number")).isEqualTo(abi.sectorNumberOffset());
        assertThat(c.get("request.seg")).isEqualTo(abi.segmentsOffset());
        assertThat(c.get("segment.size")).isEqualTo(BlkifConstants.INDIRECT_SEGMENT_SIZE);
        assertThat(c.get("segment.first_sect")).isEqualTo(4);
        assertThat(c.get("segment.last_sect")).isEqualTo(5);
        assertThat(c.get("discard.flag")).isEqualTo(1);
        assertThat(c.get("discard.id")).isEqualTo(abi.idOffset());
        assertThat(c.get("discard.sector_number")).isEqualTo(abi.sectorNumberOffset());
        assertThat(c.get("discard.nr_sectors")).isEqualTo(abi.discardNrSectorsOffset());
        assertThat(c.get("indirect.indirect_op")).isEqualTo(1);
        assertThat(c.get("indirect.nr_segments")).isEqualTo(2);
        assertThat(c.get("indirect.id")).isEqualTo(abi.idOffset());
        assertThat(c.get("indirect.sector_number")).isEqualTo(abi.sectorNumberOffset());
        assertThat(c.get("indirect.handle")).isEqualTo(abi.indirectHandleOffset());
        assertThat(c.get("indirect.indirect_grefs")).isEqualTo(abi.indirectGrefsOffset());
        assertThat(c.get("indirect.size")).isLessThanOrEqualTo(abi.requestSize());
        assertThat(c.get("response.size")).isEqualTo(abi.responseSize());
        assertThat(c.get("response.id")).isZero();
        assertThat(c.get("response.operation")).isEqualTo(8);
        assertThat(c.get("response.status")).isEqualTo(10);
        assertThat(c.get("ring.slots")).isEqualTo(32);
    }

    @ParameterizedTest
    @EnumSource(value = BlkifAbi.class, names = "X86_64")
    void shouldMatchXensBlkifConstants(final BlkifAbi abi) throws Exception
    {
        final Map<String, Long> c = compileAndRun(List.of());

        assertThat(c.get("BLKIF_OP_READ")).isEqualTo(BlkifConstants.BLKIF_OP_READ);
        assertThat(c.get("BLKIF_OP_WRITE")).isEqualTo(BlkifConstants.BLKIF_OP_WRITE);
        assertThat(c.get("BLKIF_OP_WRITE_BARRIER")).isEqualTo(BlkifConstants.BLKIF_OP_WRITE_BARRIER);
        assertThat(c.get("BLKIF_OP_FLUSH_DISKCACHE")).isEqualTo(BlkifConstants.BLKIF_OP_FLUSH_DISKCACHE);
        assertThat(c.get("BLKIF_OP_RESERVED_1")).isEqualTo(BlkifConstants.BLKIF_OP_RESERVED_1);
        assertThat(c.get("BLKIF_OP_DISCARD")).isEqualTo(BlkifConstants.BLKIF_OP_DISCARD);
        assertThat(c.get("BLKIF_OP_INDIRECT")).isEqualTo(BlkifConstants.BLKIF_OP_INDIRECT);
        assertThat(c.get("BLKIF_MAX_SEGMENTS_PER_REQUEST")).isEqualTo(BlkifConstants.BLKIF_MAX_SEGMENTS_PER_REQUEST);
        assertThat(c.get("BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST"))
            .isEqualTo(BlkifConstants.BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST);
        assertThat(c.get("BLKIF_RSP_OKAY")).isEqualTo(BlkifConstants.BLKIF_RSP_OKAY);
        assertThat(c.get("BLKIF_RSP_ERROR")).isEqualTo(BlkifConstants.BLKIF_RSP_ERROR);
        assertThat(c.get("BLKIF_RSP_EOPNOTSUPP")).isEqualTo(BlkifConstants.BLKIF_RSP_EOPNOTSUPP);
        assertThat(c.get("BLKIF_DISCARD_SECURE")).isEqualTo(BlkifConstants.BLKIF_DISCARD_SECURE);
    }

    private Map<String, Long> compileAndRun(final List<String> flags) throws Exception
    {
        if (flags.isEmpty())
        {
            return CProgram.run(dir, "xen/io/blkif.h", PROGRAM);
        }
        CProgram.assumeToolchain("xen/io/blkif.h");
        try
        {
            CProgram.compile(dir, "xen/io/blkif.h", "layout32", PROGRAM, flags.toArray(new String[0]));
        }
        catch (final AssertionError ex)
        {
            Assumptions.abort("gcc cannot build 32-bit programs here (install gcc-multilib): " + ex.getMessage());
        }
        final Process run = new ProcessBuilder(dir.resolve("layout32").toString()).redirectErrorStream(true).start();
        final String out = new String(run.getInputStream().readAllBytes());
        assertThat(run.waitFor(10, TimeUnit.SECONDS)).isTrue();
        final Map<String, Long> values = new HashMap<>();
        for (final String line : out.split("\n"))
        {
            final int eq = line.indexOf('=');
            values.put(line.substring(0, eq), Long.parseLong(line.substring(eq + 1)));
        }
        return values;
    }
}
