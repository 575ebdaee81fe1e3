package org.dom0j.protocol.console;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.test.CProgram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Compiles a C program against Xen's own {@code /usr/include/xen/io/console.h} and checks every offset and size of
 * {@link XenconsDescriptor}; the program also fills a page through {@code MASK_XENCONS_IDX} with indices about to
 * wrap at 2^32, and the Java side reads it back through the descriptor byte for byte.
 */
@Timeout(60)
class XenconsLayoutTest
{
    private static final String PROGRAM = """
        #include <stdio.h>
        #include <stddef.h>
        #include <stdint.h>
        #include <string.h>
        #include <xen/xen.h>
        #include <xen/io/console.h>
        #define P(name, value) printf("%s=%ld\\n", name, (long)(value))
        int main(int argc, char **argv)
        {
            P("size", sizeof(struct xencons_interface));
            P("in", offsetof(struct xencons_interface, in));
            P("in.size", sizeof(((struct xencons_interface *)0)->in));
            P("out", offsetof(struct xencons_interface, out));
            P("out.size", sizeof(((struct xencons_interface *)0)->out));
            P("in_cons", offsetof(struct xencons_interface, in_cons));
            P("in_prod", offsetof(struct xencons_interface, in_prod));
            P("out_cons", offsetof(struct xencons_interface, out_cons));
            P("out_prod", offsetof(struct xencons_interface, out_prod));
            P("idx.size", sizeof(XENCONS_RING_IDX));
            static union { struct xencons_interface intf; char page[4096]; } u;
            struct xencons_interface *intf = &u.intf;
            const char *msg = "wrapped!";
            XENCONS_RING_IDX prod = 0xFFFFFFFCu;
            intf->out_cons = prod;
            for (size_t i = 0; i < strlen(msg); i++)
                intf->out[MASK_XENCONS_IDX(prod++, intf->out)] = msg[i];
            intf->out_prod = prod;
            XENCONS_RING_IDX in = 0xFFFFFFFEu;
            intf->in_cons = in;
            intf->in[MASK_XENCONS_IDX(in++, intf->in)] = 'k';
            intf->in[MASK_XENCONS_IDX(in++, intf->in)] = 'b';
            intf->in[MASK_XENCONS_IDX(in++, intf->in)] = 'd';
            intf->in_prod = in;
            FILE *f = fopen(argv[1], "wb");
            fwrite(u.page, 1, sizeof(u.page), f);
            fclose(f);
            return 0;
        }
        """;

    @TempDir
    Path dir;

    @Test
    void shouldMatchXensConsoleHeader() throws Exception
    {
        final Map<String, Long> c = compileAndRun();

        assertThat(c.get("size")).isEqualTo(XenconsDescriptor.LENGTH);
        assertThat(c.get("in")).isEqualTo(XenconsDescriptor.IN_OFFSET);
        assertThat(c.get("in.size")).isEqualTo(XenconsDescriptor.IN_SIZE);
        assertThat(c.get("out")).isEqualTo(XenconsDescriptor.OUT_OFFSET);
        assertThat(c.get("out.size")).isEqualTo(XenconsDescriptor.OUT_SIZE);
        assertThat(c.get("in_cons")).isEqualTo(XenconsDescriptor.IN_CONS_OFFSET);
        assertThat(c.get("in_prod")).isEqualTo(XenconsDescriptor.IN_PROD_OFFSET);
        assertThat(c.get("out_cons")).isEqualTo(XenconsDescriptor.OUT_CONS_OFFSET);
        assertThat(c.get("out_prod")).isEqualTo(XenconsDescriptor.OUT_PROD_OFFSET);
        assertThat(c.get("idx.size")).isEqualTo(4);
    }

    @Test
    void shouldReadAPageCFilledAcrossTheIndexWrap() throws Exception
    {
        compileAndRun();
        final UnsafeBuffer page = new UnsafeBuffer(Files.readAllBytes(dir.resolve("page")));

        final int outCons = page.getInt(XenconsDescriptor.OUT_CONS_OFFSET, ByteOrder.LITTLE_ENDIAN);
        final int outProd = page.getInt(XenconsDescriptor.OUT_PROD_OFFSET, ByteOrder.LITTLE_ENDIAN);
        assertThat(Integer.toUnsignedLong(outCons)).isEqualTo(0xFFFFFFFCL);
        assertThat(outProd).isEqualTo(4);
        final StringBuilder out = new StringBuilder();
        for (int i = outCons; i != outProd; i++)
        {
            out.append((char)page.getByte(XenconsDescriptor.outOffset(i)));
        }
        assertThat(out.toString()).isEqualTo("wrapped!");
        final int inCons = page.getInt(XenconsDescriptor.IN_CONS_OFFSET, ByteOrder.LITTLE_ENDIAN);
        final int inProd = page.getInt(XenconsDescriptor.IN_PROD_OFFSET, ByteOrder.LITTLE_ENDIAN);
        assertThat(inProd - inCons).isEqualTo(3);
        final StringBuilder in = new StringBuilder();
        for (int i = inCons; i != inProd; i++)
        {
            in.append((char)page.getByte(XenconsDescriptor.inOffset(i)));
        }
        assertThat(in.toString()).isEqualTo("kbd");
        assertThat(page.getByte(XenconsDescriptor.OUT_OFFSET + XenconsDescriptor.OUT_SIZE - 1)).isEqualTo((byte)'p');
        assertThat(page.getByte(XenconsDescriptor.OUT_OFFSET + 1)).isEqualTo((byte)'e');
    }

    private Map<String, Long> compileAndRun() throws Exception
    {
        return CProgram.run(dir, "xen/io/console.h", PROGRAM, dir.resolve("page").toString());
    }
}
