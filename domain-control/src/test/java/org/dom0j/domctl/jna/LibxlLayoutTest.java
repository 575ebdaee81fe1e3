package org.dom0j.domctl.jna;

import org.dom0j.common.XenLibrary;
import org.dom0j.domctl.DomainControlException;
import org.dom0j.test.CProgram;
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
 * The sizes and constants of the libxl binding against libxl.h and xentoollog.h (Debian's libxen-dev), and what
 * opening libxl says where there is no Xen.
 */
@Timeout(120)
class LibxlLayoutTest
{
    @TempDir
    Path dir;

    @Test
    void shouldMatchLibxlHeaders() throws Exception
    {
        final Map<String, Long> c = CProgram.run(dir, "libxl.h", """
            #include <stdio.h>
            #include <stddef.h>
            #include <libxl.h>
            #include <xentoollog.h>
            int main(void)
            {
                printf("config %zu\\n", sizeof(libxl_domain_config));
                printf("hooks %zu\\n", sizeof(libxl_childproc_hooks));
                printf("chldowner %zu\\n", offsetof(libxl_childproc_hooks, chldowner));
                printf("reap %d\\n", (int)libxl_sigchld_owner_libxl_always_selective_reap);
                printf("version %d\\n", LIBXL_VERSION);
                printf("detail %d\\n", (int)XTL_DETAIL);
                printf("info %d\\n", (int)XTL_INFO);
                printf("warn %d\\n", (int)XTL_WARN);
                printf("hide %u\\n", XTL_STDIOSTREAM_HIDE_PROGRESS);
                return 0;
            }
            """);
        assertThat(c.get("config")).isLessThanOrEqualTo((long)LibXenLight.DOMAIN_CONFIG_ALLOCATION);
        assertThat(c).containsEntry("hooks", (long)LibXenLight.CHILDPROC_HOOKS_LENGTH)
            .containsEntry("chldowner", 0L)
            .containsEntry("reap", (long)LibXenLight.SIGCHLD_OWNER_LIBXL_ALWAYS_SELECTIVE_REAP)
            .containsEntry("version", (long)LibXenLight.LIBXL_VERSION)
            .containsEntry("detail", (long)LibXenToolLog.XTL_DETAIL)
            .containsEntry("info", (long)LibXenToolLog.XTL_INFO)
            .containsEntry("warn", (long)LibXenToolLog.XTL_WARN)
            .containsEntry("hide", (long)LibXenToolLog.XTL_STDIOSTREAM_HIDE_PROGRESS);
    }

    @Test
    void shouldSayLibxlCannotStartWhereThereIsNoXen()
    {
        Assumptions.assumeTrue(null == XenLibrary.LIGHT.probe(), "libxenlight.so.4.17 is not installed");
        Assumptions.assumeFalse(Files.exists(Path.of("/dev/xen/privcmd")), "this machine runs on Xen");
        assertThatThrownBy(() -> XenLibxl.open(0)).isInstanceOf(DomainControlException.class)
            .hasMessageContaining("cannot start libxl (libxl_ctx_alloc returned ")
            .hasMessageContaining("is this a Xen dom0 with xenstored running?");
    }
}
