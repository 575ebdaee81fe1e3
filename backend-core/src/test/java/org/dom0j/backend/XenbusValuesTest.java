package org.dom0j.backend;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Every kind of malformed frontend value is refused with a reason naming the node and the value.
 */
@Timeout(10)
class XenbusValuesTest
{
    private final Map<String, String> nodes = new HashMap<>();
    private final XenbusValues values = new XenbusValues(nodes::get);

    @ParameterizedTest(name = "\"{0}\" in {1}..{2}")
    @CsvSource(value = {
        "abc, 0, 10, not a decimal number",
        "-1, 0, 10, not a decimal number",
        "+1, 0, 10, not a decimal number",
        "' 1', 0, 10, not a decimal number",
        "'1 ', 0, 10, not a decimal number",
        "0x1, 0, 10, not a decimal number",
        "1.0, 0, 10, not a decimal number",
        "'', 0, 10, not a decimal number of 1..10 digits",
        "12345678901, 0, 4294967295, not a decimal number of 1..10 digits",
        "4294967296, 0, 4294967295, out of range 0..4294967295",
        "99, 0, 4, out of range 0..4",
        "0, 1, 131071, out of range 1..131071",
        "NULL, 0, 10, missing: required" }, nullValues = "NULL")
    void shouldRefuseMalformedNumbersWithAReason(
        final String value, final long min, final long max, final String reason)
    {
        assertThatThrownBy(() -> XenbusValues.parseUnsigned("/fe/key", value, min, max))
            .isInstanceOf(InvalidFrontendException.class)
            .hasMessageStartingWith("/fe/key")
            .hasMessageContaining(reason);
    }

    @ParameterizedTest
    @CsvSource({ "0, 0", "7, 7", "4294967295, 4294967295", "0007, 7" })
    void shouldAcceptDecimalNumbersInRange(final String value, final long expected) throws Exception
    {
        assertThat(XenbusValues.parseUnsigned("/k", value, 0, 0xFFFF_FFFFL)).isEqualTo(expected);
    }

    @Test
    void shouldReadASinglePageRingWithoutRingPageOrder() throws Exception
    {
        nodes.put("/fe/ring-ref", "8");

        assertThat(values.readRingRefs("/fe", 4)).containsExactly(8);
    }

    @Test
    void shouldReadAMultiPageRing() throws Exception
    {
        nodes.put("/fe/ring-page-order", "2");
        for (int i = 0; i < 4; i++)
        {
            nodes.put("/fe/ring-ref" + i, Integer.toString(100 + i));
        }

        assertThat(values.readRingRefs("/fe", 4)).containsExactly(100, 101, 102, 103);
    }

    @Test
    void shouldReadRingRef0ForOrderZeroWithoutRingRef() throws Exception
    {
        nodes.put("/fe/ring-page-order", "0");
        nodes.put("/fe/ring-ref0", "9");

        assertThat(values.readRingRefs("/fe", 4)).containsExactly(9);
    }

    @Test
    void shouldRefuseARingPageOrderAboveTheAdvertisedMaximum()
    {
        nodes.put("/fe/ring-page-order", "99");

        assertThatThrownBy(() -> values.readRingRefs("/fe", 4))
            .isInstanceOf(InvalidFrontendException.class)
            .hasMessage("/fe/ring-page-order = \"99\": out of range 0..4");
    }

    @Test
    void shouldNameTheMissingRingRef()
    {
        nodes.put("/fe/ring-page-order", "1");
        nodes.put("/fe/ring-ref0", "9");

        assertThatThrownBy(() -> values.readRingRefs("/fe", 4))
            .isInstanceOf(InvalidFrontendException.class)
            .hasMessage("/fe/ring-ref1 missing: required");
    }

    @Test
    void shouldReadProtocolsAndRefuseUnknownOnes() throws Exception
    {
        assertThat(values.readProtocol("/fe", RingProtocol.X86_64)).isEqualTo(RingProtocol.X86_64);
        nodes.put("/fe/protocol", "x86_32-abi");
        assertThat(values.readProtocol("/fe", RingProtocol.X86_64)).isEqualTo(RingProtocol.X86_32);
        nodes.put("/fe/protocol", "foo");
        assertThatThrownBy(() -> values.readProtocol("/fe", RingProtocol.X86_64))
            .isInstanceOf(InvalidFrontendException.class)
            .hasMessageContaining("/fe/protocol = \"foo\": unknown protocol");
    }

    @Test
    void shouldKeepNonPrintableBytesOutOfTheReason()
    {
        nodes.put("/fe/event-channel", "1\u001b[2J" + "x".repeat(100));

        assertThatThrownBy(() -> values.readEventChannel("/fe/event-channel"))
            .isInstanceOf(InvalidFrontendException.class)
            .satisfies((ex) -> assertThat(ex.getMessage()).doesNotContain("\u001b").hasSizeLessThan(200));
    }

    @Test
    void shouldReadFeatureFlagsStrictly() throws Exception
    {
        assertThat(values.readFeature("/fe/feature-x")).isFalse();
        nodes.put("/fe/feature-x", "1");
        assertThat(values.readFeature("/fe/feature-x")).isTrue();
        nodes.put("/fe/feature-x", "2");
        assertThatThrownBy(() -> values.readFeature("/fe/feature-x")).isInstanceOf(InvalidFrontendException.class);
    }
}
