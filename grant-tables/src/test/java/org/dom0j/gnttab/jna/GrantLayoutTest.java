package org.dom0j.gnttab.jna;

import org.dom0j.test.CProgram;
import org.dom0j.common.Errno;
import org.dom0j.gnttab.GrantCopyBatch;
import org.dom0j.gnttab.GrantTableException;
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
 * The libxengnttab binding against Xen's own headers, and its behaviour off Xen.
 */
@Timeout(120)
class GrantLayoutTest
{
    @TempDir
    Path dir;

    @Test
    void shouldMatchXengnttabGrantCopySegmentAndGntstCodes() throws Exception
    {
        final Map<String, Long> c = CProgram.run(dir, "xengnttab.h", """
            #include <stdio.h>
            #include <stddef.h>
            #include <xengnttab.h>
            #include <xen/grant_table.h>
            #define P(n, v) printf("%s %ld\\n", n, (long)(v))
            int main(void)
            {
                P("sizeof", sizeof(xengnttab_grant_copy_segment_t));
                P("source", offsetof(xengnttab_grant_copy_segment_t, source));
                P("dest", offsetof(xengnttab_grant_copy_segment_t, dest));
                P("ref", offsetof(xengnttab_grant_copy_segment_t, source.foreign.ref));
                P("offset", offsetof(xengnttab_grant_copy_segment_t, source.foreign.offset));
                P("domid", offsetof(xengnttab_grant_copy_segment_t, source.foreign.domid));
                P("len", offsetof(xengnttab_grant_copy_segment_t, len));
                P("flags", offsetof(xengnttab_grant_copy_segment_t, flags));
                P("status", offsetof(xengnttab_grant_copy_segment_t, status));
                P("GNTCOPY_source_gref", GNTCOPY_source_gref);
                P("GNTCOPY_dest_gref", GNTCOPY_dest_gref);
                P("okay", GNTST_okay); P("general_error", GNTST_general_error);
                P("bad_domain", GNTST_bad_domain); P("bad_gntref", GNTST_bad_gntref);
                P("bad_handle", GNTST_bad_handle); P("bad_virt_addr", GNTST_bad_virt_addr);
                P("bad_dev_addr", GNTST_bad_dev_addr); P("no_device_space", GNTST_no_device_space);
                P("permission_denied", GNTST_permission_denied); P("bad_page", GNTST_bad_page);
                P("bad_copy_arg", GNTST_bad_copy_arg); P("address_too_big", GNTST_address_too_big);
                P("eagain", GNTST_eagain); P("no_space", GNTST_no_space);
                return 0;
            }
            """);
        assertThat(c).containsEntry("sizeof", (long)LibXenGnttab.SEGMENT_LENGTH)
            .containsEntry("source", (long)LibXenGnttab.SEGMENT_SOURCE)
            .containsEntry("dest", (long)LibXenGnttab.SEGMENT_DEST)
            .containsEntry("ref", (long)LibXenGnttab.FOREIGN_REF)
            .containsEntry("offset", (long)LibXenGnttab.FOREIGN_OFFSET)
            .containsEntry("domid", (long)LibXenGnttab.FOREIGN_DOMID)
            .containsEntry("len", (long)LibXenGnttab.SEGMENT_LEN)
            .containsEntry("flags", (long)LibXenGnttab.SEGMENT_FLAGS)
            .containsEntry("status", (long)LibXenGnttab.SEGMENT_STATUS)
            .containsEntry("GNTCOPY_source_gref", (long)LibXenGnttab.GNTCOPY_SOURCE_GREF)
            .containsEntry("GNTCOPY_dest_gref", (long)LibXenGnttab.GNTCOPY_DEST_GREF)
            .containsEntry("okay", (long)GrantCopyBatch.GNTST_OKAY)
            .containsEntry("general_error", (long)GrantCopyBatch.GNTST_GENERAL_ERROR)
            .containsEntry("bad_domain", (long)GrantCopyBatch.GNTST_BAD_DOMAIN)
            .containsEntry("bad_gntref", (long)GrantCopyBatch.GNTST_BAD_GNTREF)
            .containsEntry("bad_handle", (long)GrantCopyBatch.GNTST_BAD_HANDLE)
            .containsEntry("bad_virt_addr", (long)GrantCopyBatch.GNTST_BAD_VIRT_ADDR)
            .containsEntry("bad_dev_addr", (long)GrantCopyBatch.GNTST_BAD_DEV_ADDR)
            .containsEntry("no_device_space", (long)GrantCopyBatch.GNTST_NO_DEVICE_SPACE)
            .containsEntry("permission_denied", (long)GrantCopyBatch.GNTST_PERMISSION_DENIED)
            .containsEntry("bad_page", (long)GrantCopyBatch.GNTST_BAD_PAGE)
            .containsEntry("bad_copy_arg", (long)GrantCopyBatch.GNTST_BAD_COPY_ARG)
            .containsEntry("address_too_big", (long)GrantCopyBatch.GNTST_ADDRESS_TOO_BIG)
            .containsEntry("eagain", (long)GrantCopyBatch.GNTST_EAGAIN)
            .containsEntry("no_space", (long)GrantCopyBatch.GNTST_NO_SPACE);
    }

    @Test
    void shouldSayInOneSentenceThatThisIsNotXenWhenGntdevIsMissing()
    {
        Assumptions.assumeFalse(Files.exists(Path.of("/dev/xen/gntdev")), "this machine runs on Xen");
        assertThatThrownBy(XenGrantTables::open).isInstanceOfSatisfying(GrantTableException.class, ex ->
        {
            assertThat(ex.errno()).isEqualTo(Errno.ENOENT.number());
            assertThat(ex.getMessage()).isEqualTo("cannot open Xen grant tables: this is not a Xen domain " +
                "(no /dev/xen/gntdev): ENOENT (No such file or directory)");
        });
        assertThatThrownBy(XenGrantTables::openSharing).isInstanceOfSatisfying(GrantTableException.class,
            ex -> assertThat(ex.getMessage()).contains("no /dev/xen/gntalloc").contains("ENOENT"));
    }

    @Test
    void shouldBindThePerRequestCallsWithDirectMappingWhereTheLibraryIs() throws Exception
    {
        final String missing = org.dom0j.common.XenLibrary.GNTTAB.probe();
        Assumptions.assumeTrue(null == missing, missing);
        // Native.register looks every native method up in the library when the class initialises: a misspelt name
        // or a missing function fails here, not in dom0 under Xen (xengnttab_grant_copy)
        final Class<?> natives = Class.forName(GnttabDirect.class.getName(), true, getClass().getClassLoader());
        assertThat(natives.getDeclaredMethods()).isNotEmpty();
    }
}
