package org.dom0j.domctl.jna;

import org.dom0j.test.CProgram;
import com.sun.jna.Memory;
import org.dom0j.common.Errno;
import org.dom0j.domctl.DomainControlException;
import org.dom0j.domctl.DomainInfo;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * xc_domaininfo_t (struct xen_domctl_getdomaininfo in Xen 4.17) against xenctrl.h, and decoding of bytes that a
 * C program filled in.
 */
@Timeout(120)
class XcDomainInfoLayoutTest
{
    private static final String PROGRAM_HEAD = """
        #include <stdio.h>
        #include <stddef.h>
        #include <string.h>
        #include <xenctrl.h>
        #define O(f) printf(#f " %zu\\n", offsetof(xc_domaininfo_t, f))
        int main(void)
        {
            printf("sizeof %zu\\n", sizeof(xc_domaininfo_t));
            O(domain); O(flags); O(tot_pages); O(max_pages); O(cpu_time); O(nr_online_vcpus); O(max_vcpu_id);
            printf("dying %u\\n", XEN_DOMINF_dying); printf("shutdown %u\\n", XEN_DOMINF_shutdown);
            printf("paused %u\\n", XEN_DOMINF_paused); printf("blocked %u\\n", XEN_DOMINF_blocked);
            printf("running %u\\n", XEN_DOMINF_running); printf("shutdownshift %u\\n", XEN_DOMINF_shutdownshift);
            printf("shutdownmask %u\\n", XEN_DOMINF_shutdownmask);
            xc_domaininfo_t d;
            memset(&d, 0xEE, sizeof d);
            d.domain = 7; d.flags = XEN_DOMINF_shutdown | XEN_DOMINF_paused | (3u << XEN_DOMINF_shutdownshift);
            d.tot_pages = 65536; d.max_pages = 65792; d.cpu_time = 123456789012ULL;
            d.nr_online_vcpus = 2; d.max_vcpu_id = 1;
            const unsigned char *b = (const unsigned char *)&d;
            for (size_t i = 0; i < sizeof d; i++) printf("byte%zu %u\\n", i, b[i]);
            return 0;
        }
        """;

    @TempDir
    Path dir;

    @Test
    void shouldMatchTheOffsetsOfXcDomaininfoT() throws Exception
    {
        final Map<String, Long> c = CProgram.run(dir, "xenctrl.h", PROGRAM_HEAD);
        assertThat(c).containsEntry("sizeof", (long)LibXenCtrl.INFO_LENGTH)
            .containsEntry("domain", (long)LibXenCtrl.INFO_DOMAIN)
            .containsEntry("flags", (long)LibXenCtrl.INFO_FLAGS)
            .containsEntry("tot_pages", (long)LibXenCtrl.INFO_TOT_PAGES)
            .containsEntry("max_pages", (long)LibXenCtrl.INFO_MAX_PAGES)
            .containsEntry("cpu_time", (long)LibXenCtrl.INFO_CPU_TIME)
            .containsEntry("nr_online_vcpus", (long)LibXenCtrl.INFO_NR_ONLINE_VCPUS)
            .containsEntry("max_vcpu_id", (long)LibXenCtrl.INFO_MAX_VCPU_ID)
            .containsEntry("dying", (long)LibXenCtrl.XEN_DOMINF_DYING)
            .containsEntry("shutdown", (long)LibXenCtrl.XEN_DOMINF_SHUTDOWN)
            .containsEntry("paused", (long)LibXenCtrl.XEN_DOMINF_PAUSED)
            .containsEntry("blocked", (long)LibXenCtrl.XEN_DOMINF_BLOCKED)
            .containsEntry("running", (long)LibXenCtrl.XEN_DOMINF_RUNNING)
            .containsEntry("shutdownshift", (long)LibXenCtrl.XEN_DOMINF_SHUTDOWNSHIFT)
            .containsEntry("shutdownmask", (long)LibXenCtrl.XEN_DOMINF_SHUTDOWNMASK);
    }

    @Test
    void shouldDecodeAnInfoRecordWrittenByC() throws Exception
    {
        final Map<String, Long> c = CProgram.run(dir, "xenctrl.h", PROGRAM_HEAD);
        final int size = c.get("sizeof").intValue();
        final Memory m = new Memory(size);
        for (int i = 0; i < size; i++)
        {
            m.setByte(i, (byte)c.get("byte" + i).intValue());
        }
        final DomainInfo info = XenDomainControl.decode(m, 0);
        assertThat(info).isEqualTo(new DomainInfo(7, false, false, true, true, false, 3,
            65536L * 4, 65792L * 4, 2, 123456789012L));
        assertThat(info.stateLetters()).isEqualTo("--p-c-");
    }

    @Test
    void shouldSayInOneSentenceThatThisIsNotXenWhenPrivcmdIsMissing()
    {
        Assumptions.assumeFalse(Files.exists(Path.of("/dev/xen/privcmd")), "this machine runs on Xen");
        assertThatThrownBy(XenDomainControl::open).isInstanceOfSatisfying(DomainControlException.class, ex ->
        {
            assertThat(ex.errno()).isEqualTo(Errno.ENOENT.number());
            assertThat(ex.getMessage()).isEqualTo("cannot open Xen domain control: this is not a Xen domain " +
                "(no /dev/xen/privcmd): ENOENT (No such file or directory)");
        });
    }
}
