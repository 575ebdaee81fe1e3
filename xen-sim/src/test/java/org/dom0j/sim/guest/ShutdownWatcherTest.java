package org.dom0j.sim.guest;

import org.dom0j.common.XenException;
import org.dom0j.sim.SimMachine;
import org.dom0j.xenstore.XenStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A simulated guest's shutdown watcher against the toolstack's {@code control/} keys, as {@link SimMachine} makes
 * them (libxl's permissions).
 */
@Timeout(30)
class ShutdownWatcherTest
{
    private static final long WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);

    @TempDir
    Path dir;

    @Test
    void shouldAdvertiseAcknowledgeAndReportARebootAsLinuxDoes() throws Exception
    {
        try (SimMachine machine = SimMachine.start(dir); XenStore dom0 = machine.xenStore())
        {
            machine.createGuest(2, "g", 16);
            try (XenStore guest = machine.connectAsGuest(2); ShutdownWatcher watcher = ShutdownWatcher.start(guest))
            {
                assertThat(dom0.read("/local/domain/2/control/feature-poweroff")).isEqualTo("1");
                assertThat(dom0.read("/local/domain/2/control/feature-reboot")).isEqualTo("1");
                assertThat(watcher.request()).isNull();
                assertThat(watcher.reason()).isEqualTo(-1);

                dom0.write("/local/domain/2/control/shutdown", "reboot");

                assertThat(watcher.awaitRequest(WAIT_NANOS)).isTrue();
                assertThat(watcher.request()).isEqualTo("reboot");
                assertThat(watcher.reason()).isEqualTo(ShutdownWatcher.SHUTDOWN_REBOOT);
                assertThat(dom0.read("/local/domain/2/control/shutdown")).as("acknowledged").isEmpty();
            }
        }
    }

    @Test
    void shouldLeaveAWordItDoesNotHandleUnacknowledged() throws Exception
    {
        try (SimMachine machine = SimMachine.start(dir); XenStore dom0 = machine.xenStore())
        {
            machine.createGuest(3, "g", 16);
            try (XenStore guest = machine.connectAsGuest(3); ShutdownWatcher watcher = ShutdownWatcher.start(guest))
            {
                dom0.write("/local/domain/3/control/shutdown", "suspend");
                // An ignored word leaves no event to wait for: 300 ms without an acknowledgement, then a handled
                // word is still taken (the watcher did not stop at the first).
                assertThat(watcher.awaitRequest(TimeUnit.MILLISECONDS.toNanos(300))).isFalse();
                assertThat(dom0.read("/local/domain/3/control/shutdown")).isEqualTo("suspend");
                dom0.write("/local/domain/3/control/shutdown", "poweroff");
                assertThat(watcher.awaitRequest(WAIT_NANOS)).isTrue();
                assertThat(watcher.reason()).isEqualTo(ShutdownWatcher.SHUTDOWN_POWEROFF);
            }
        }
    }

    @Test
    void shouldGiveTheGuestItsControlKeysButNotTheDirectory()
    {
        try (SimMachine machine = SimMachine.start(dir))
        {
            machine.createGuest(4, "g", 16);
            try (XenStore guest = machine.connectAsGuest(4))
            {
                guest.write("control/shutdown", "");
                assertThatThrownBy(() -> guest.write("control/other", "x")).isInstanceOf(XenException.class)
                    .hasMessageContaining("EACCES");
                assertThatThrownBy(() -> guest.write("name", "x")).isInstanceOf(XenException.class);
            }
        }
    }
}
