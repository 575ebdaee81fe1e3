package org.dom0j.sim;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.gnttab.GrantCopyBatch;
import org.dom0j.gnttab.GrantMapping;
import org.dom0j.gnttab.GrantTables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a process keeps of a domain: a backend that outlives its guests (two hosts on one directory play two
 * processes, the toolstack with its guest and the backend) must let go of a destroyed guest's memory.
 */
@Timeout(30)
class SimHostTest
{
    private static final int GUEST = 7;

    @TempDir
    Path dir;

    @Test
    void shouldUnmapADestroyedGuestOnceTheBackendHasLetGoOfIt() throws IOException
    {
        try (SimPlatform backend = SimPlatform.open(dir);
            GrantTables gnttab = backend.openGrantTables();
            EventChannels evtchn = backend.openEventChannels())
        {
            // The first guest loads what the process loads once (classes, libraries).
            serveAndDestroy(backend, gnttab, evtchn, GUEST);
            final long fdsBefore = openFds();

            serveAndDestroy(backend, gnttab, evtchn, GUEST + 1);

            assertThat(guestMaps(GUEST)).as("mappings of the first destroyed guest's files").isEmpty();
            assertThat(guestMaps(GUEST + 1)).as("mappings of the second destroyed guest's files").isEmpty();
            assertThat(openFds()).as("file descriptors").isEqualTo(fdsBefore);
            assertThat(backend.host().exists(GUEST + 1)).isFalse();
            assertThat(guestMaps(GUEST + 1)).isEmpty();
        }
    }

    /**
     * A guest made by a toolstack (another host on the directory: another process), served by the backend (its ring
     * mapped, its data copied, its port bound and notified), let go of, and destroyed.
     */
    private void serveAndDestroy(
        final SimPlatform backend, final GrantTables gnttab, final EventChannels evtchn, final int domid)
        throws IOException
    {
        try (SimHost toolstack = SimHost.open(dir))
        {
            final SimDomain guest = toolstack.createDomain(domid, 64);
            final int frame = guest.allocatePage();
            final int ref = guest.grantAccess(0, frame, false);
            final EventChannels front = guest.openEventChannels();
            final int guestPort = front.bindUnboundPort(0);

            final int port = evtchn.bindInterdomain(domid, guestPort);
            try (GrantMapping ring = gnttab.mapOne(domid, ref, true))
            {
                ring.buffer().putInt(0, 42);
                final UnsafeBuffer local = new UnsafeBuffer(ByteBuffer.allocateDirect(64));
                final GrantCopyBatch batch = new GrantCopyBatch(1);
                batch.addFromForeign(domid, ref, 0, local.addressOffset(), 4);
                gnttab.copy(batch);
                assertThat(local.getInt(0)).isEqualTo(42);
                evtchn.notify(port);
                assertThat(guestMaps(domid)).as("the backend's view while it uses the guest").isNotEmpty();
            }
            evtchn.unbind(port);
            front.close();
            toolstack.destroyDomain(domid);
        }
        // The toolstack's host is closed: what is left of the guest's files would be the backend's.
        assertThat(backend.localDomain().boundPortCount()).isZero();
    }

    @Test
    void shouldKeepAGuestsPagesMappedWhileAHandleOfItIsHeldAfterItIsDestroyed()
    {
        try (SimHost host = SimHost.open(dir))
        {
            final SimDomain guest = host.createDomain(GUEST, 16);
            final UnsafeBuffer page = guest.page(guest.allocatePage());
            host.destroyDomain(GUEST);
            // The guest's own code may still touch its pages after the toolstack destroyed it.
            page.putLong(0, 0x1234);
            assertThat(page.getLong(0)).isEqualTo(0x1234);
            assertThat(host.exists(GUEST)).isFalse();
        }
    }

    private List<String> guestMaps(final int domid) throws IOException
    {
        final String domains = dir.resolve("domains").toAbsolutePath() + "/";
        try (Stream<String> maps = Files.lines(Path.of("/proc/self/maps")))
        {
            return maps.filter(l -> l.contains(domains + domid + "/") || l.contains(domains + ".dead-" + domid + "-"))
                .toList();
        }
    }

    private static long openFds() throws IOException
    {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd")))
        {
            return fds.count();
        }
    }
}
