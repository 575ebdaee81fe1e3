package org.dom0j.xenstore;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The xs_wire codec byte for byte, and checked against Xen's own {@code xs_wire.h} (compiled with gcc; skipped,
 * saying so, when gcc or the header is missing).
 */
@Timeout(60)
class XsWireLayoutTest
{
    private static final Path HEADER = Path.of("/usr/include/xen/io/xs_wire.h");

    @Test
    void shouldWriteHeaderLittleEndianAtXsWireOffsets()
    {
        final byte[] bytes = new byte[20];
        final XsHeaderFlyweight h = new XsHeaderFlyweight().wrap(new UnsafeBuffer(bytes), 2);
        h.type(XsMessageType.WRITE.code()).reqId(0x01020304).txId(0x0A0B0C0D).length(0xFFFF_FFFE);
        assertThat(bytes).containsExactly(
            0, 0,
            11, 0, 0, 0,
            4, 3, 2, 1,
            0x0D, 0x0C, 0x0B, 0x0A,
            (byte)0xFE, (byte)0xFF, (byte)0xFF, (byte)0xFF,
            0, 0);
        assertThat(h.length()).isEqualTo(0xFFFF_FFFEL);
        assertThat(h.reqId()).isEqualTo(0x01020304);
        assertThat(h.payloadOffset()).isEqualTo(18);
    }

    @Test
    void shouldMatchXenHeader(@TempDir final Path dir) throws Exception
    {
        assumeTrue(Files.exists(HEADER), HEADER + " missing (install libxen-dev): header check skipped");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/gcc")), "gcc missing: header check skipped");
        final String c = String.join("\n",
            "#include <stdio.h>",
            "#include <stddef.h>",
            "#include <stdint.h>",
            "#include <errno.h>",
            "#include <xen/io/xs_wire.h>",
            "#define T(x) printf(\"type %s %d\\n\", #x, (int)(x));",
            "int main(void) {",
            "  printf(\"off type %zu\\n\", offsetof(struct xsd_sockmsg, type));",
            "  printf(\"off req_id %zu\\n\", offsetof(struct xsd_sockmsg, req_id));",
            "  printf(\"off tx_id %zu\\n\", offsetof(struct xsd_sockmsg, tx_id));",
            "  printf(\"off len %zu\\n\", offsetof(struct xsd_sockmsg, len));",
            "  printf(\"const size %zu\\n\", sizeof(struct xsd_sockmsg));",
            "  printf(\"const payload %d\\n\", XENSTORE_PAYLOAD_MAX);",
            "  printf(\"const abs %d\\n\", XENSTORE_ABS_PATH_MAX);",
            "  printf(\"const rel %d\\n\", XENSTORE_REL_PATH_MAX);",
            "  printf(\"const ring %d\\n\", XENSTORE_RING_SIZE);",
            "  T(XS_CONTROL) T(XS_DIRECTORY) T(XS_READ) T(XS_GET_PERMS) T(XS_WATCH) T(XS_UNWATCH)",
            "  T(XS_TRANSACTION_START) T(XS_TRANSACTION_END) T(XS_INTRODUCE) T(XS_RELEASE)",
            "  T(XS_GET_DOMAIN_PATH) T(XS_WRITE) T(XS_MKDIR) T(XS_RM) T(XS_SET_PERMS) T(XS_WATCH_EVENT)",
            "  T(XS_ERROR) T(XS_IS_DOMAIN_INTRODUCED) T(XS_RESUME) T(XS_SET_TARGET) T(XS_RESET_WATCHES)",
            "  T(XS_DIRECTORY_PART)",
            "  for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)",
            "    printf(\"error %s %d\\n\", xsd_errors[i].errstring, xsd_errors[i].errnum);",
            "  return 0;",
            "}",
            "");
        final Path src = dir.resolve("xs.c");
        Files.writeString(src, c);
        final Path exe = dir.resolve("xs");
        final Process gcc = new ProcessBuilder("gcc", "-o", exe.toString(), src.toString())
            .redirectErrorStream(true).start();
        final String gccOut = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(gcc.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(gcc.exitValue()).as(gccOut).isZero();
        final Process run = new ProcessBuilder(exe.toString()).start();
        final String out = new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(run.waitFor(30, TimeUnit.SECONDS)).isTrue();
        final Map<String, Integer> facts = new HashMap<>();
        int errors = 0;
        for (final String line : out.split("\n"))
        {
            final String[] f = line.split(" ");
            if (f[0].equals("error"))
            {
                errors++;
                assertThat(XsErrors.nameOf(Integer.parseInt(f[2]))).isEqualTo(f[1]);
                assertThat(XsErrors.errnoOf(f[1])).isEqualTo(Integer.parseInt(f[2]));
            }
            else
            {
                facts.put(f[0] + " " + f[1], Integer.parseInt(f[2]));
            }
        }
        assertThat(errors).isEqualTo(16);
        assertThat(facts.get("off type")).isEqualTo(XsWireDescriptor.TYPE_OFFSET);
        assertThat(facts.get("off req_id")).isEqualTo(XsWireDescriptor.REQ_ID_OFFSET);
        assertThat(facts.get("off tx_id")).isEqualTo(XsWireDescriptor.TX_ID_OFFSET);
        assertThat(facts.get("off len")).isEqualTo(XsWireDescriptor.LENGTH_OFFSET);
        assertThat(facts.get("const size")).isEqualTo(XsWireDescriptor.HEADER_LENGTH);
        assertThat(facts.get("const payload")).isEqualTo(XsWireDescriptor.PAYLOAD_MAX);
        assertThat(facts.get("const abs")).isEqualTo(XsWireDescriptor.ABS_PATH_MAX);
        assertThat(facts.get("const rel")).isEqualTo(XsWireDescriptor.REL_PATH_MAX);
        assertThat(facts.get("const ring")).isEqualTo(XsWireDescriptor.RING_SIZE);
        int types = 0;
        for (final Map.Entry<String, Integer> e : facts.entrySet())
        {
            if (e.getKey().startsWith("type XS_"))
            {
                types++;
                assertThat(XsMessageType.valueOf(e.getKey().substring("type XS_".length())).code())
                    .as(e.getKey()).isEqualTo(e.getValue());
            }
        }
        assertThat(types).isEqualTo(22);
    }

    @ParameterizedTest(name = "\"{0}\" special={1}: {2}")
    @CsvSource({
        "/local/domain/1/name, false, ok",
        "/, false, ok",
        "device/vbd/51712/state, false, ok",
        "@introduceDomain, true, ok",
        "@introduceDomain, false, bad",
        "'', false, bad",
        "/a//b, false, bad",
        "/a/, false, bad",
        "/a b, false, bad",
        "/a.b, false, bad",
        "/ü, false, bad",
    })
    void shouldApplyXenstoredPathRules(final String path, final boolean special, final String verdict)
    {
        assertThat(XsPaths.whyInvalid(path, special) == null ? "ok" : "bad").isEqualTo(verdict);
    }

    @Test
    void shouldBoundPathLengthsAsXenstoredDoes()
    {
        assertThat(XsPaths.whyInvalid("/" + "a".repeat(2047), false)).isNull();
        assertThat(XsPaths.whyInvalid("/" + "a".repeat(2048), false)).contains("2048");
        assertThat(XsPaths.whyInvalid("/" + "a".repeat(3072), false)).contains("3072");
        assertThat(XsPaths.whyInvalid("a".repeat(2048), false)).isNull();
        assertThat(XsPaths.whyInvalid("a".repeat(2049), false)).contains("2048");
        assertThat(XsPaths.whyInvalid("/local/domain/12/" + "a".repeat(2048), false)).isNull();
        assertThat(XsPaths.whyInvalid("/local/domain/12/" + "a".repeat(2049), false)).contains("2048");
        assertThat(XsPaths.depthBelow("/a/b/c", "/a")).isEqualTo(2);
        assertThat(XsPaths.depthBelow("/a", "/")).isEqualTo(1);
        assertThat(XsPaths.isAtOrBelow("/ab", "/a")).isFalse();
        assertThat(XsPaths.isAtOrBelow("/a/b", "/a")).isTrue();
    }
}
