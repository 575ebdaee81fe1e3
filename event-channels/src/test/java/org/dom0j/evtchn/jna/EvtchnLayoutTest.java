package org.dom0j.evtchn.jna;

import org.dom0j.test.CProgram;
import org.dom0j.common.Errno;
import org.dom0j.evtchn.EventChannelException;
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
 * The libxenevtchn binding: the C types it passes, and its behaviour off Xen.
 */
@Timeout(120)
class EvtchnLayoutTest
{
    @TempDir
    Path dir;

    @Test
    void shouldPassPortsAndDomidsAsTheFourByteIntsXenevtchnTakes() throws Exception
    {
        final Map<String, Long> c = CProgram.run(dir, "xenevtchn.h", """
            #include <stdio.h>
            #include <xenevtchn.h>
            #include <xen/event_channel.h>
            int main(void)
            {
                printf("evtchn_port_t %zu\\n", sizeof(evtchn_port_t));
                printf("xenevtchn_port_or_error_t %zu\\n", sizeof(xenevtchn_port_or_error_t));
                printf("pollfd %zu\\n", (size_t)8);
                return 0;
            }
            """);
        // The binding declares ports and domids as Java int (4 bytes) in and out.
        assertThat(c).containsEntry("evtchn_port_t", 4L).containsEntry("xenevtchn_port_or_error_t", 4L);
    }

    @Test
    void shouldSayInOneSentenceThatThisIsNotXenWhenEvtchnIsMissing()
    {
        Assumptions.assumeFalse(Files.exists(Path.of("/dev/xen/evtchn")), "this machine runs on Xen");
        assertThatThrownBy(XenEventChannels::open).isInstanceOfSatisfying(EventChannelException.class, ex ->
        {
            assertThat(ex.errno()).isEqualTo(Errno.ENOENT.number());
            assertThat(ex.getMessage()).isEqualTo("cannot open Xen event channels: this is not a Xen domain " +
                "(no /dev/xen/evtchn): ENOENT (No such file or directory)");
        });
    }

    @Test
    void shouldBindThePerRequestCallsWithDirectMappingWhereTheLibraryIs() throws Exception
    {
        final String missing = org.dom0j.common.XenLibrary.EVTCHN.probe();
        Assumptions.assumeTrue(null == missing, missing);
        // Native.register looks every native method up in the library when the class initialises: a misspelt name
        // or a missing function fails here, not in dom0 under Xen (notify, pending and unmask)
        final Class<?> natives = Class.forName(EvtchnDirect.class.getName(), true, getClass().getClassLoader());
        assertThat(natives.getDeclaredMethods()).isNotEmpty();
    }
}
