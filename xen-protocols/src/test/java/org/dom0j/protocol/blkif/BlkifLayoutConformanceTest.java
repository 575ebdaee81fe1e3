package org.dom0j.protocol.blkif;

import org.dom0j.test.CProgram;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Checks every offset and size {@link BlkifAbi}, {@link BlkifResponseDescriptor} and {@link BlkifConstants} use
 * against Xen's own {@code /usr/include/xen/io/blkif.h} (and the ring slot {@code ring.h} makes of them) at compile
 * time: a C translation unit of {@code _Static_assert}s, compiled natively for the x86_64 ABI and with {@code -m32}
 * for the x86_32 ABI. Nothing is executed, so the x86_32 check needs gcc-multilib's headers but not a kernel that
 * runs 32-bit programs.
 */
@Timeout(60)
class BlkifLayoutConformanceTest
{
    @TempDir
    Path dir;

    static String assertions(final BlkifAbi abi)
    {
        final List<String> a = new ArrayList<>();
        a.add(check("sizeof(struct blkif_request) == " + abi.requestSize()));
        a.add(at("struct blkif_request", "operation", 0));
        a.add(at("struct blkif_request", "nr_segments", 1));
        a.add(at("struct blkif_request", "handle", 2));
        a.add(at("struct blkif_request", "id", abi.idOffset()));
        a.add(at("struct blkif_request", "sector_number", abi.sectorNumberOffset()));
        a.add(at("struct blkif_request", "seg", abi.segmentsOffset()));
        a.add(check("sizeof(struct blkif_request_segment) == " + BlkifConstants.INDIRECT_SEGMENT_SIZE));
        a.add(at("struct blkif_request_segment", "first_sect", 4));
        a.add(at("struct blkif_request_segment", "last_sect", 5));
        a.add(at("struct blkif_request_discard", "flag", 1));
        a.add(at("struct blkif_request_discard", "id", abi.idOffset()));
        a.add(at("struct blkif_request_discard", "sector_number", abi.sectorNumberOffset()));
        a.add(at("struct blkif_request_discard", "nr_sectors", abi.discardNrSectorsOffset()));
        a.add(at("struct blkif_request_indirect", "indirect_op", 1));
        a.add(at("struct blkif_request_indirect", "nr_segments", 2));
        a.add(at("struct blkif_request_indirect", "id", abi.idOffset()));
        a.add(at("struct blkif_request_indirect", "sector_number", abi.sectorNumberOffset()));
        a.add(at("struct blkif_request_indirect", "handle", abi.indirectHandleOffset()));
        a.add(at("struct blkif_request_indirect", "indirect_grefs", abi.indirectGrefsOffset()));
        a.add(check("sizeof(struct blkif_request_indirect) <= " + abi.requestSize()));
        a.add(check("sizeof(struct blkif_response) == " + abi.responseSize()));
        a.add(at("struct blkif_response", "id", BlkifResponseDescriptor.ID_OFFSET));
        a.add(at("struct blkif_response", "operation", BlkifResponseDescriptor.OPERATION_OFFSET));
        a.add(at("struct blkif_response", "status", BlkifResponseDescriptor.STATUS_OFFSET));
        // ring.h's DEFINE_RING_TYPES: a slot is the union of request and response, so a response is written into
        // a slot of the request's size and must leave the rest of it alone.
        a.add(check("sizeof(union blkif_sring_entry) == " + abi.slotSize()));
        a.add(check("__CONST_RING_SIZE(blkif, 4096) == 32"));
        a.add(constant("BLKIF_OP_READ", BlkifConstants.BLKIF_OP_READ));
        a.add(constant("BLKIF_OP_WRITE", BlkifConstants.BLKIF_OP_WRITE));
        a.add(constant("BLKIF_OP_WRITE_BARRIER", BlkifConstants.BLKIF_OP_WRITE_BARRIER));
        a.add(constant("BLKIF_OP_FLUSH_DISKCACHE", BlkifConstants.BLKIF_OP_FLUSH_DISKCACHE));
        a.add(constant("BLKIF_OP_RESERVED_1", BlkifConstants.BLKIF_OP_RESERVED_1));
        a.add(constant("BLKIF_OP_DISCARD", BlkifConstants.BLKIF_OP_DISCARD));
        a.add(constant("BLKIF_OP_INDIRECT", BlkifConstants.BLKIF_OP_INDIRECT));
        a.add(constant("BLKIF_MAX_SEGMENTS_PER_REQUEST", BlkifConstants.BLKIF_MAX_SEGMENTS_PER_REQUEST));
        a.add(constant("BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST", BlkifConstants.BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST));
        a.add(constant("BLKIF_RSP_OKAY", BlkifConstants.BLKIF_RSP_OKAY));
        a.add(constant("BLKIF_RSP_ERROR", BlkifConstants.BLKIF_RSP_ERROR));
        a.add(constant("BLKIF_RSP_EOPNOTSUPP", BlkifConstants.BLKIF_RSP_EOPNOTSUPP));
        a.add(constant("BLKIF_DISCARD_SECURE", BlkifConstants.BLKIF_DISCARD_SECURE));
        final StringBuilder c = new StringBuilder()
            .append("#include <stddef.h>\n#include <stdint.h>\n#include <xen/xen.h>\n#include <xen/io/blkif.h>\n");
        for (final String line : a)
        {
            c.append(line).append('\n');
        }
        return c.toString();
    }

    private static String at(final String type, final String member, final int expected)
    {
        return check("offsetof(" + type + ", " + member + ") == " + expected);
    }

    private static String constant(final String name, final long expected)
    {
        return check("(long)(" + name + ") == " + expected + "L");
    }

    private static String check(final String expression)
    {
        return "_Static_assert(" + expression + ", \"" + expression + "\");";
    }

    @ParameterizedTest
    @EnumSource(BlkifAbi.class)
    void shouldMatchXensBlkifHeader(final BlkifAbi abi) throws Exception
    {
        if (abi == BlkifAbi.X86_32)
        {
            CProgram.assumeToolchain("xen/io/blkif.h");
            Assumptions.assumeTrue(CProgram.canCompile32(dir),
                "gcc cannot compile for x86_32 here (install gcc-multilib); the x86_32 layout is not checked");
            CProgram.compileOnly(dir, "xen/io/blkif.h", "blkif32", assertions(abi), "-m32");
        }
        else
        {
            CProgram.compileOnly(dir, "xen/io/blkif.h", "blkif64", assertions(abi));
        }
    }

    @Test
    void shouldRejectTheOtherAbisLayout() throws Exception
    {
        CProgram.assumeToolchain("xen/io/blkif.h");
        // The x86_32 layout compiled for x86_64 must fail: the check can tell the two ABIs apart.
        assertThatThrownBy(() -> CProgram.compileOnly(dir, "xen/io/blkif.h", "mixed", assertions(BlkifAbi.X86_32)))
            .isInstanceOf(AssertionError.class).hasMessageContaining("sizeof(struct blkif_request) == 108");
    }
}
