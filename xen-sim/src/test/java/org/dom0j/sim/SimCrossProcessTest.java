package org.dom0j.sim;

import org.dom0j.common.Errno;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.gnttab.GrantCopyBatch;
import org.dom0j.gnttab.GrantMapping;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.test.Await;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A guest in a second JVM: grants made there are mapped here, and events cross both ways.
 */
@Timeout(60)
class SimCrossProcessTest
{
    private static final int GUEST = 9;

    /** A guest's wait that only an event can end before the test's timeout. */
    private static final long LONGER_THAN_THE_TEST_MS = 120_000;
    /** Bounds the wait for the guest to fall asleep; generous, since only a failing test waits it out. */
    private static final long WAIT_MS = 10_000;

    @TempDir
    Path dir;

    /**
     * Waits until the guest process sleeps in its event channel wait, so that what the test does next is what
     * wakes it.
     */
    private static void awaitGuestAsleep(final SimPlatform platform) throws InterruptedException
    {
        final SimDomainState domain = platform.host().state(GUEST);
        Await.until("the guest process asleep in its event channel wait", WAIT_MS,
            () -> domain.eventWaiters() == 1);
    }

    @Test
    void shouldMapAPageGrantedByAnotherProcessAndKeepItsGrantBusyWhileMapped() throws Exception
    {
        try (SimPlatform platform = SimPlatform.open(dir);
            GrantTables gnttab = platform.openGrantTables())
        {
            platform.host().createDomain(GUEST, 32);
            try (GuestProcess guest = new GuestProcess(dir, GUEST))
            {
                final int frame = Integer.parseInt(guest.ok("alloc"));
                guest.ok("write " + frame + " written-by-guest");
                final int ref = Integer.parseInt(guest.ok("grant 0 " + frame + " rw"));

                final GrantMapping m = gnttab.mapOne(GUEST, ref, true);
                assertThat(m.buffer().getStringWithoutLengthAscii(0, 16)).isEqualTo("written-by-guest");
                m.buffer().putBytes(0, "written-by-dom0\0".getBytes());
                assertThat(guest.ok("read " + frame)).isEqualTo("written-by-dom0");
                assertThat(guest.call("end " + ref)).startsWith("err " + Errno.EBUSY.number());

                m.close();
                assertThat(guest.ok("flags " + ref)).isEqualTo("1");
                assertThat(guest.call("end " + ref)).isEqualTo("ok ");

                // Grant copy from the other process's page, and a ref it no longer grants.
                final int ref2 = Integer.parseInt(guest.ok("grant 0 " + frame + " ro"));
                final UnsafeBuffer local = new UnsafeBuffer(ByteBuffer.allocateDirect(64));
                final GrantCopyBatch batch = new GrantCopyBatch(2);
                batch.addFromForeign(GUEST, ref2, 0, local.addressOffset(), 15);
                // The guest reuses the lowest free ref; the next one is not granted.
                assertThat(ref2).isEqualTo(ref);
                batch.addFromForeign(GUEST, ref2 + 1, 0, local.addressOffset() + 32, 15);
                gnttab.copy(batch);
                assertThat(batch.status(0)).isEqualTo(GrantCopyBatch.GNTST_OKAY);
                assertThat(batch.status(1)).isEqualTo(GrantCopyBatch.GNTST_GENERAL_ERROR);
                assertThat(local.getStringWithoutLengthAscii(0, 15)).isEqualTo("written-by-dom0");
                assertThat(gnttab.mappedPageCount()).isZero();
            }
        }
    }

    @Test
    void shouldWakeAWaiterInAnotherProcessAndBeWokenByIt() throws Exception
    {
        try (SimPlatform platform = SimPlatform.open(dir);
            EventChannels evtchn = platform.openEventChannels())
        {
            platform.host().createDomain(GUEST, 8);
            try (GuestProcess guest = new GuestProcess(dir, GUEST))
            {
                final int guestPort = Integer.parseInt(guest.ok("unbound 0"));
                final int port = evtchn.bindInterdomain(GUEST, guestPort);
                assertThat(evtchn.pending(TimeUnit.SECONDS.toNanos(1))).isEqualTo(port);
                evtchn.unmask(port);

                // The guest blocks in futex wait (for longer than the test may run, so only an event ends it); our
                // notify wakes it, and it answers with the port ("ok -1" would be a timeout).
                guest.send("wait " + LONGER_THAN_THE_TEST_MS);
                awaitGuestAsleep(platform);
                evtchn.notify(port);
                assertThat(guest.reply()).as("the guest's wait, ended by our notify").isEqualTo("ok " + guestPort);

                // And back: the guest echoes events, we block for them.
                guest.send("echo " + guestPort + " 20");
                for (int i = 0; i < 20; i++)
                {
                    evtchn.notify(port);
                    assertThat(evtchn.pending(TimeUnit.SECONDS.toNanos(10))).as("echo %d from the guest", i)
                        .isEqualTo(port);
                    evtchn.unmask(port);
                }
                assertThat(guest.reply()).isEqualTo("ok 20");
            }
        }
    }

    @Test
    void shouldTellAGuestInAnotherProcessThatItsBackendUnmapped() throws Exception
    {
        try (SimPlatform platform = SimPlatform.open(dir);
            GrantTables gnttab = platform.openGrantTables();
            EventChannels evtchn = platform.openEventChannels())
        {
            platform.host().createDomain(GUEST, 8);
            try (GuestProcess guest = new GuestProcess(dir, GUEST))
            {
                final int frame = Integer.parseInt(guest.ok("alloc"));
                final String text = "x".repeat(70);
                guest.ok("write " + frame + " " + text);
                final int ref = Integer.parseInt(guest.ok("grant 0 " + frame + " rw"));
                final int guestPort = Integer.parseInt(guest.ok("unbound 0"));
                final int port = evtchn.bindInterdomain(GUEST, guestPort);

                final GrantMapping m = gnttab.mapOneWithNotify(GUEST, ref, true, 64, port);
                guest.send("wait " + LONGER_THAN_THE_TEST_MS);
                awaitGuestAsleep(platform);
                m.close();
                assertThat(guest.reply()).as("the guest's wait, ended by the unmap's notify")
                    .isEqualTo("ok " + guestPort);
                assertThat(guest.ok("read " + frame)).isEqualTo(text.substring(0, 64));
                assertThat(guest.call("end " + ref)).isEqualTo("ok ");
            }
        }
    }

    @Test
    void shouldCloseThePortsOfAGuestProcessThatDied() throws Exception
    {
        try (SimPlatform platform = SimPlatform.open(dir);
            EventChannels evtchn = platform.openEventChannels())
        {
            final SimDomain domain = platform.host().createDomain(GUEST, 8);
            final int guestPort;
            final int port;
            try (GuestProcess guest = new GuestProcess(dir, GUEST))
            {
                guestPort = Integer.parseInt(guest.ok("unbound 0"));
                port = evtchn.bindInterdomain(GUEST, guestPort);
                guest.kill();
            }
            assertThat(domain.state().portState(guestPort)).isEqualTo(SimDomainDescriptor.ECS_INTERDOMAIN);

            // The next handle opened on the domain reclaims the dead process's handle and closes its ports.
            try (EventChannels next = domain.openEventChannels())
            {
                assertThat(domain.state().portState(guestPort)).isEqualTo(SimDomainDescriptor.ECS_FREE);
                assertThat(platform.host().state(0).portState(port)).isEqualTo(SimDomainDescriptor.ECS_UNBOUND);
                assertThat(next.bindUnboundPort(0)).isEqualTo(guestPort);
            }
        }
    }
}
