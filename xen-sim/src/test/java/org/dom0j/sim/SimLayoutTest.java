package org.dom0j.sim;

import org.dom0j.test.CProgram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.dom0j.sim.SimDomainDescriptor.*;

/**
 * The simulator's grant table and event channel states against Xen's public headers: a C program reads a sim
 * domain's grant-table file as grant_entry_v1_t[] and must see what the guest API wrote.
 */
@Timeout(120)
class SimLayoutTest
{
    @TempDir
    Path dir;

    @Test
    void shouldWriteGrantEntriesThatCReadsAsGrantEntryV1() throws Exception
    {
        final Path work = Files.createDirectory(dir.resolve("c"));
        final int ref;
        final int roRef;
        final Path grantTable;
        try (SimHost host = SimHost.open(dir.resolve("host")))
        {
            final SimDomain guest = host.createDomain(4, 16);
            ref = guest.grantAccess(0, 13, false);
            roRef = guest.grantAccess(65, 2, true);
            grantTable = guest.state().directory().resolve("grant-table");
            final Map<String, Long> c = CProgram.run(work, "xen/grant_table.h", """
                #include <stdio.h>
                #include <stdlib.h>
                #include <stddef.h>
                #include <stdint.h>
                #include <xen/xen.h>
                #include <xen/grant_table.h>
                #include <xen/event_channel.h>
                #define P(n, v) printf("%s %ld\\n", n, (long)(v))
                int main(int argc, char **argv)
                {
                    P("sizeof", sizeof(grant_entry_v1_t));
                    P("flags", offsetof(grant_entry_v1_t, flags));
                    P("domid", offsetof(grant_entry_v1_t, domid));
                    P("frame", offsetof(grant_entry_v1_t, frame));
                    P("GTF_invalid", GTF_invalid); P("GTF_permit_access", GTF_permit_access);
                    P("GTF_type_mask", GTF_type_mask); P("GTF_readonly", GTF_readonly);
                    P("GTF_reading", GTF_reading); P("GTF_writing", GTF_writing);
                    P("GNTTAB_NR_RESERVED_ENTRIES", GNTTAB_NR_RESERVED_ENTRIES);
                    P("EVTCHNSTAT_closed", EVTCHNSTAT_closed); P("EVTCHNSTAT_unbound", EVTCHNSTAT_unbound);
                    P("EVTCHNSTAT_interdomain", EVTCHNSTAT_interdomain);
                    P("evtchn_port_t", sizeof(evtchn_port_t));
                    FILE *f = fopen(argv[1], "rb");
                    grant_entry_v1_t table[2048];
                    if (!f || fread(table, sizeof table[0], 2048, f) != 2048) return 2;
                    for (int i = 1; i < argc - 1; i++)
                    {
                        int r = atoi(argv[i + 1]);
                        printf("ref%d.flags %u\\nref%d.domid %u\\nref%d.frame %u\\n",
                            r, table[r].flags, r, table[r].domid, r, table[r].frame);
                    }
                    return 0;
                }
                """, grantTable.toString(), Integer.toString(ref), Integer.toString(roRef));

            assertThat(c).containsEntry("sizeof", (long)GRANT_ENTRY_LENGTH)
                .containsEntry("flags", (long)GRANT_FLAGS_OFFSET)
                .containsEntry("domid", (long)GRANT_DOMID_OFFSET)
                .containsEntry("frame", (long)GRANT_FRAME_OFFSET)
                .containsEntry("GTF_invalid", (long)GTF_INVALID)
                .containsEntry("GTF_permit_access", (long)GTF_PERMIT_ACCESS)
                .containsEntry("GTF_type_mask", (long)GTF_TYPE_MASK)
                .containsEntry("GTF_readonly", (long)GTF_READONLY)
                .containsEntry("GTF_reading", (long)GTF_READING)
                .containsEntry("GTF_writing", (long)GTF_WRITING)
                .containsEntry("GNTTAB_NR_RESERVED_ENTRIES", (long)NR_RESERVED_ENTRIES)
                .containsEntry("EVTCHNSTAT_closed", (long)ECS_FREE)
                .containsEntry("EVTCHNSTAT_unbound", (long)ECS_UNBOUND)
                .containsEntry("EVTCHNSTAT_interdomain", (long)ECS_INTERDOMAIN)
                .containsEntry("evtchn_port_t", 4L);
            assertThat(c).containsEntry("ref" + ref + ".flags", (long)GTF_PERMIT_ACCESS)
                .containsEntry("ref" + ref + ".domid", 0L)
                .containsEntry("ref" + ref + ".frame", 13L)
                .containsEntry("ref" + roRef + ".flags", (long)(GTF_PERMIT_ACCESS | GTF_READONLY))
                .containsEntry("ref" + roRef + ".domid", 65L)
                .containsEntry("ref" + roRef + ".frame", 2L);
        }
    }
}
