package org.dom0j.protocol.netif;

import org.dom0j.test.CProgram;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Checks {@link NetifDescriptor} and {@link NetifConstants} against Xen's own {@code /usr/include/xen/io/netif.h} at
 * compile time: a C translation unit of {@code _Static_assert}s on {@code sizeof}, {@code offsetof}, the ring sizes
 * and every constant is compiled for x86_64 and, where gcc-multilib is there, for x86_32 ({@code -m32}). Nothing is
 * executed, so the x86_32 check holds on a kernel that cannot run 32-bit programs.
 */
@Timeout(60)
class NetifLayoutConformanceTest
{
    @TempDir
    Path dir;

    static String assertions()
    {
        final List<String> a = new ArrayList<>();
        a.add(size("struct netif_tx_request", NetifDescriptor.TX_REQUEST_LENGTH));
        a.add(at("struct netif_tx_request", "gref", NetifDescriptor.TX_REQUEST_GREF_OFFSET));
        a.add(at("struct netif_tx_request", "offset", NetifDescriptor.TX_REQUEST_OFFSET_OFFSET));
        a.add(at("struct netif_tx_request", "flags", NetifDescriptor.TX_REQUEST_FLAGS_OFFSET));
        a.add(at("struct netif_tx_request", "id", NetifDescriptor.TX_REQUEST_ID_OFFSET));
        a.add(at("struct netif_tx_request", "size", NetifDescriptor.TX_REQUEST_SIZE_OFFSET));
        a.add(size("struct netif_tx_response", NetifDescriptor.TX_RESPONSE_LENGTH));
        a.add(at("struct netif_tx_response", "id", NetifDescriptor.TX_RESPONSE_ID_OFFSET));
        a.add(at("struct netif_tx_response", "status", NetifDescriptor.TX_RESPONSE_STATUS_OFFSET));
        a.add(size("struct netif_rx_request", NetifDescriptor.RX_REQUEST_LENGTH));
        a.add(at("struct netif_rx_request", "id", NetifDescriptor.RX_REQUEST_ID_OFFSET));
        a.add(at("struct netif_rx_request", "gref", NetifDescriptor.RX_REQUEST_GREF_OFFSET));
        a.add(size("struct netif_rx_response", NetifDescriptor.RX_RESPONSE_LENGTH));
        a.add(at("struct netif_rx_response", "id", NetifDescriptor.RX_RESPONSE_ID_OFFSET));
        a.add(at("struct netif_rx_response", "offset", NetifDescriptor.RX_RESPONSE_OFFSET_OFFSET));
        a.add(at("struct netif_rx_response", "flags", NetifDescriptor.RX_RESPONSE_FLAGS_OFFSET));
        a.add(at("struct netif_rx_response", "status", NetifDescriptor.RX_RESPONSE_STATUS_OFFSET));
        a.add(size("struct netif_extra_info", NetifDescriptor.EXTRA_LENGTH));
        a.add(at("struct netif_extra_info", "type", NetifDescriptor.EXTRA_TYPE_OFFSET));
        a.add(at("struct netif_extra_info", "flags", NetifDescriptor.EXTRA_FLAGS_OFFSET));
        a.add(at("struct netif_extra_info", "u.gso.size", NetifDescriptor.EXTRA_GSO_SIZE_OFFSET));
        a.add(at("struct netif_extra_info", "u.gso.type", NetifDescriptor.EXTRA_GSO_TYPE_OFFSET));
        a.add(at("struct netif_extra_info", "u.gso.features", NetifDescriptor.EXTRA_GSO_FEATURES_OFFSET));
        a.add(at("struct netif_extra_info", "u.mcast.addr", NetifDescriptor.EXTRA_MCAST_ADDR_OFFSET));
        a.add(at("struct netif_extra_info", "u.hash.type", NetifDescriptor.EXTRA_HASH_TYPE_OFFSET));
        a.add(at("struct netif_extra_info", "u.hash.algorithm", NetifDescriptor.EXTRA_HASH_ALGORITHM_OFFSET));
        a.add(at("struct netif_extra_info", "u.hash.value", NetifDescriptor.EXTRA_HASH_VALUE_OFFSET));
        // The XDP member is Linux's only; it overlays the first u16 of the union, as gso.size does.
        a.add(at("struct netif_extra_info", "u.pad", NetifDescriptor.EXTRA_XDP_HEADROOM_OFFSET));
        a.add(size("struct xen_netif_ctrl_request", NetifDescriptor.CTRL_REQUEST_LENGTH));
        a.add(at("struct xen_netif_ctrl_request", "id", NetifDescriptor.CTRL_REQUEST_ID_OFFSET));
        a.add(at("struct xen_netif_ctrl_request", "type", NetifDescriptor.CTRL_REQUEST_TYPE_OFFSET));
        a.add(at("struct xen_netif_ctrl_request", "data", NetifDescriptor.CTRL_REQUEST_DATA_OFFSET));
        a.add(size("struct xen_netif_ctrl_response", NetifDescriptor.CTRL_RESPONSE_LENGTH));
        a.add(at("struct xen_netif_ctrl_response", "id", NetifDescriptor.CTRL_RESPONSE_ID_OFFSET));
        a.add(at("struct xen_netif_ctrl_response", "type", NetifDescriptor.CTRL_RESPONSE_TYPE_OFFSET));
        a.add(at("struct xen_netif_ctrl_response", "status", NetifDescriptor.CTRL_RESPONSE_STATUS_OFFSET));
        a.add(at("struct xen_netif_ctrl_response", "data", NetifDescriptor.CTRL_RESPONSE_DATA_OFFSET));
        a.add(size("struct xen_netif_gref", NetifDescriptor.GREF_LENGTH));
        a.add(at("struct xen_netif_gref", "ref", NetifDescriptor.GREF_REF_OFFSET));
        a.add(at("struct xen_netif_gref", "flags", NetifDescriptor.GREF_FLAGS_OFFSET));
        a.add(at("struct xen_netif_gref", "status", NetifDescriptor.GREF_STATUS_OFFSET));
        a.add(check("__CONST_RING_SIZE(netif_tx, 4096) == 256"));
        a.add(check("__CONST_RING_SIZE(netif_rx, 4096) == 256"));
        a.add(check("__CONST_RING_SIZE(xen_netif_ctrl, 4096) == 128"));
        for (final Map.Entry<String, Long> constant : constants().entrySet())
        {
            a.add(check("(long)(" + constant.getKey() + ") == " + constant.getValue() + "L"));
        }
        final StringBuilder c = new StringBuilder()
            .append("#include <stddef.h>\n#include <stdint.h>\n#include <xen/xen.h>\n#include <xen/io/netif.h>\n");
        for (final String line : a)
        {
            c.append(line).append('\n');
        }
        return c.toString();
    }

    /**
     * Every constant of {@link NetifConstants} whose Java name is the C macro's (modulo case and "_BIT" for the
     * bit-number forms, which are {@code _XEN_...} in C), plus the few whose C names differ.
     */
    static Map<String, Long> constants()
    {
        final Map<String, Long> values = new java.util.TreeMap<>();
        for (final Field f : NetifConstants.class.getFields())
        {
            if (!Modifier.isStatic(f.getModifiers()))
            {
                continue;
            }
            final String name = f.getName();
            if (name.equals("PAGE_SIZE") || name.equals("XEN_NETIF_EXTRA_TYPE_XDP") ||
                name.equals("XEN_NETIF_EXTRA_TYPE_MAX"))
            {
                continue; // Linux's additions and ours, not in Xen 4.17's header.
            }
            final String c;
            if (name.equals("XEN_NETIF_EXTRA_TYPE_MAX_XEN_4_17"))
            {
                c = "XEN_NETIF_EXTRA_TYPE_MAX";
            }
            else if (name.endsWith("_BIT"))
            {
                c = "_" + name.substring(0, name.length() - 4);
            }
            else if (name.startsWith("NETTXF_") || name.startsWith("NETRXF_"))
            {
                c = name.substring(0, 7) + name.substring(7).toLowerCase(java.util.Locale.ROOT);
            }
            else if (name.equals("XEN_NETIF_CTRLF_GREF_READONLY"))
            {
                c = "XEN_NETIF_CTRLF_GREF_readonly";
            }
            else
            {
                c = name;
            }
            try
            {
                values.put(c, ((Number)f.get(null)).longValue());
            }
            catch (final IllegalAccessException ex)
            {
                throw new AssertionError(ex);
            }
        }
        return values;
    }

    private static String size(final String type, final int expected)
    {
        return check("sizeof(" + type + ") == " + expected);
    }

    private static String at(final String type, final String member, final int expected)
    {
        return check("offsetof(" + type + ", " + member + ") == " + expected);
    }

    private static String check(final String expression)
    {
        return "_Static_assert(" + expression + ", \"" + expression.replace("\"", "'") + "\");";
    }

    @ParameterizedTest
    @ValueSource(strings = { "x86_64", "x86_32" })
    void shouldMatchXensNetifHeaderAtCompileTime(final String abi) throws Exception
    {
        if ("x86_32".equals(abi))
        {
            CProgram.assumeToolchain("xen/io/netif.h");
            Assumptions.assumeTrue(CProgram.canCompile32(dir),
                "gcc cannot compile for x86_32 here (install gcc-multilib); the x86_32 layout is not checked");
            CProgram.compileOnly(dir, "xen/io/netif.h", "netif32", assertions(), "-m32");
        }
        else
        {
            CProgram.compileOnly(dir, "xen/io/netif.h", "netif64", assertions());
        }
    }

    @Test
    void shouldCheckEveryConstantItNames()
    {
        assertThat(constants()).containsKeys("NETTXF_csum_blank", "NETRXF_gso_prefix", "XEN_NETIF_NR_SLOTS_MIN",
            "_XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP", "XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING", "NETIF_RSP_NULL",
            "XEN_NETIF_EXTRA_TYPE_MAX").hasSizeGreaterThan(45);
    }

    @Test
    void shouldFailToCompileWhenALayoutIsWrong() throws Exception
    {
        CProgram.assumeToolchain("xen/io/netif.h");
        final String wrong = assertions().replace("offsetof(struct netif_tx_request, size) == 10",
            "offsetof(struct netif_tx_request, size) == 8");
        assertThat(wrong).isNotEqualTo(assertions());
        assertThatThrownBy(() -> CProgram.compileOnly(dir, "xen/io/netif.h", "wrong", wrong))
            .isInstanceOf(AssertionError.class).hasMessageContaining("netif_tx_request, size");
    }
}
