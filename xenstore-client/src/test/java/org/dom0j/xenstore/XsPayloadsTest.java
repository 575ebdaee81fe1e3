package org.dom0j.xenstore;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class XsPayloadsTest
{
    private static byte[] bytes(final String s)
    {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void stringsAreNulTerminatedUtf8()
    {
        assertThat(XsPayloads.strings("/a", "tok", "")).isEqualTo(bytes("/a\0tok\0\0"));
        assertThat(XsPayloads.strings("é")).isEqualTo(new byte[] {(byte)0xc3, (byte)0xa9, 0});
        assertThat(XsPayloads.strings()).isEmpty();
    }

    @Test
    void aWriteCarriesItsValueWithoutATerminator()
    {
        assertThat(XsPayloads.pathAndValue("/a/b", bytes("x\0y"))).isEqualTo(bytes("/a/b\0x\0y"));
        assertThat(XsPayloads.pathAndValue("/a", new byte[0])).isEqualTo(bytes("/a\0"));
    }

    @Test
    void splitKeepsEmptyStringsAndALastOneWithoutItsNul()
    {
        assertThat(XsPayloads.splitStrings(bytes("a\0\0b\0"))).containsExactly("a", "", "b");
        assertThat(XsPayloads.splitStrings(bytes("a\0b"))).containsExactly("a", "b");
        assertThat(XsPayloads.splitStrings(new byte[0])).isEmpty();
    }

    @Test
    void firstStringAndTextStopWhereTheyShould()
    {
        assertThat(XsPayloads.firstString(bytes("7\0junk"))).isEqualTo("7");
        assertThat(XsPayloads.firstString(bytes("no nul"))).isEqualTo("no nul");
        assertThat(XsPayloads.text(bytes("log line\nmore\0\0"))).isEqualTo("log line\nmore");
        assertThat(XsPayloads.text(bytes("\0"))).isEmpty();
    }

    @Test
    void aNumberThatIsNotOneIsAProtocolError()
    {
        assertThat(XsPayloads.parseNumber(bytes(" 42 \0"), "get quota")).isEqualTo(42);
        assertThatThrownBy(() -> XsPayloads.parseNumber(bytes("lots\0"), "get quota"))
            .isInstanceOf(XenStoreException.class)
            .hasMessageContaining("get quota: xenstored answered \"lots\"");
    }
}
