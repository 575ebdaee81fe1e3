package org.dom0j.sim;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.common.Errno;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.gnttab.GrantCopyBatch;
import org.dom0j.gnttab.GrantMapping;
import org.dom0j.gnttab.GrantTableException;
import org.dom0j.gnttab.GrantTables;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.ByteBuffer;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.dom0j.sim.SimDomainDescriptor.GTF_PERMIT_ACCESS;
import static org.dom0j.sim.SimDomainDescriptor.GTF_READING;
import static org.dom0j.sim.SimDomainDescriptor.GTF_READONLY;
import static org.dom0j.sim.SimDomainDescriptor.GTF_WRITING;

@Timeout(30)
class SimGrantTablesTest
{
    private static final int GUEST = 5;

    @TempDir
    Path dir;

    private SimPlatform platform;
    private SimDomain guest;
    private GrantTables gnttab;

    @BeforeEach
    void setUp()
    {
        platform = SimPlatform.open(dir);
        guest = platform.host().createDomain(GUEST, 64);
        gnttab = platform.openGrantTables();
    }

    @AfterEach
    void tearDown()
    {
        gnttab.close();
        platform.close();
    }

    @Test
    void shouldMapAGrantedPageAndShareWritesBothWays()
    {
        final int frame = guest.allocatePage();
        guest.page(frame).putStringWithoutLengthAscii(0, "from guest");
        final int ref = guest.grantAccess(0, frame, false);
        assertThat(ref).isGreaterThanOrEqualTo(8);

        try (GrantMapping m = gnttab.mapOne(GUEST, ref, true))
        {
            assertThat(m.buffer().getStringWithoutLengthAscii(0, 10)).isEqualTo("from guest");
            m.buffer().putStringWithoutLengthAscii(100, "from backend");
            assertThat(guest.page(frame).getStringWithoutLengthAscii(100, 12)).isEqualTo("from backend");
            assertThat(gnttab.mappedPageCount()).isEqualTo(1);
        }
        assertThat(gnttab.mappedPageCount()).isZero();
    }

    @Test
    void shouldLetTheGuestEndAccessToAGrantWhosePinNoLiveProcessHolds()
    {
        // A backend killed inside a pin (after the grant's count, before its own ledger) left a pin no live process
        // holds; Xen's hypercalls cannot be cut that way, so the guest must still be able to end its access.
        final int frame = guest.allocatePage();
        final int ref = guest.grantAccess(0, frame, false);
        final SimDomainState state = guest.state();
        state.lock();
        try
        {
            assertThat(state.grantPins().pin(ref, 0, true, new int[1], 0)).isEqualTo(SimGrantPins.PIN_OK);
            state.grantPins().forgetLedgerEntryForTest(ref, true);
        }
        finally
        {
            state.unlock();
        }
        assertThat(guest.grantFlags(ref)).isEqualTo(GTF_PERMIT_ACCESS | GTF_READING | GTF_WRITING);

        guest.endAccess(ref);

        assertThat(guest.grantFlags(ref) & (GTF_READING | GTF_WRITING)).isZero();
    }

    @Test
    void shouldRefuseToEndAccessToAGrantALiveProcessHasMapped()
    {
        final int frame = guest.allocatePage();
        final int ref = guest.grantAccess(0, frame, false);
        try (GrantMapping m = gnttab.mapOne(GUEST, ref, true))
        {
            assertThatThrownBy(() -> guest.endAccess(ref)).isInstanceOf(GrantTableException.class)
                .hasMessageContaining("still has it mapped");
            assertThat(guest.grantFlags(ref)).isEqualTo(GTF_PERMIT_ACCESS | GTF_READING | GTF_WRITING);
        }
        guest.endAccess(ref);
    }

    @Test
    void shouldSetReadingAndWritingWhileMappedAndClearThemWithTheLastUnmap()
    {
        final int frame = guest.allocatePage();
        final int ref = guest.grantAccess(0, frame, false);
        assertThat(guest.grantFlags(ref)).isEqualTo(GTF_PERMIT_ACCESS);

        final GrantMapping reader = gnttab.mapOne(GUEST, ref, false);
        assertThat(guest.grantFlags(ref)).isEqualTo(GTF_PERMIT_ACCESS | GTF_READING);
        final GrantMapping writer = gnttab.mapOne(GUEST, ref, true);
        assertThat(guest.grantFlags(ref)).isEqualTo(GTF_PERMIT_ACCESS | GTF_READING | GTF_WRITING);
        writer.close();
        assertThat(guest.grantFlags(ref)).isEqualTo(GTF_PERMIT_ACCESS | GTF_READING);
        reader.close();
        assertThat(guest.grantFlags(ref)).isEqualTo(GTF_PERMIT_ACCESS);
    }

    @Test
    void shouldRefuseToEndAccessWhileMappedAndAllowItAfterUnmap()
    {
        final int frame = guest.allocatePage();
        final int ref = guest.grantAccess(0, frame, true);
        final GrantMapping m = gnttab.mapOne(GUEST, ref, false);

        assertThatThrownBy(() -> guest.endAccess(ref))
            .isInstanceOfSatisfying(GrantTableException.class,
                ex -> assertThat(ex.errno()).isEqualTo(Errno.EBUSY.number()));
        assertThat(guest.grantFlags(ref)).isEqualTo(GTF_PERMIT_ACCESS | GTF_READONLY | GTF_READING);

        m.close();
        guest.endAccess(ref);
        assertThat(guest.grantFlags(ref)).isZero();
        assertThatThrownBy(() -> gnttab.mapOne(GUEST, ref, false)).isInstanceOf(GrantTableException.class);
    }

    @Test
    void shouldUnmapOnceWhenClosedTwice()
    {
        final int ref = guest.grantAccess(0, guest.allocatePage(), false);
        final long mapsBefore = osMappingsOfGuestMemory();
        final GrantMapping m = gnttab.mapOne(GUEST, ref, true);
        assertThat(osMappingsOfGuestMemory()).isEqualTo(mapsBefore + 1);
        m.close();
        m.close();
        assertThat(osMappingsOfGuestMemory()).isEqualTo(mapsBefore);
        assertThat(gnttab.mappedPageCount()).isZero();
        assertThat(guest.grantFlags(ref)).isEqualTo(GTF_PERMIT_ACCESS);
        guest.endAccess(ref);
    }

    /**
     * The refused cases of Xen's map_grant_ref; gntdev reports each as EINVAL.
     */
    enum BadMap
    {
        REF_OUT_OF_RANGE, RESERVED_REF_NOT_GRANTED, GRANTED_TO_ANOTHER_DOMAIN, READ_ONLY_MAPPED_WRITABLE,
        ENDED_GRANT, NO_SUCH_DOMAIN, NEGATIVE_REF
    }

    @ParameterizedTest
    @EnumSource(BadMap.class)
    void shouldRefuseBadMapsWithEinvalAndLeaveNothingMapped(final BadMap bad)
    {
        final int frame = guest.allocatePage();
        final int good = guest.grantAccess(0, frame, false);
        int domid = GUEST;
        final int ref;
        boolean writable = true;
        switch (bad)
        {
            case REF_OUT_OF_RANGE -> ref = SimDomainDescriptor.NR_GRANT_ENTRIES;
            case NEGATIVE_REF -> ref = -1;
            case RESERVED_REF_NOT_GRANTED -> ref = 3;
            case GRANTED_TO_ANOTHER_DOMAIN -> ref = guest.grantAccess(7, frame, false);
            case READ_ONLY_MAPPED_WRITABLE -> ref = guest.grantAccess(0, frame, true);
            case ENDED_GRANT ->
            {
                ref = guest.grantAccess(0, frame, false);
                guest.endAccess(ref);
            }
            default ->
            {
                ref = good;
                domid = 99;
                writable = false;
            }
        }
        final int d = domid;
        final boolean w = writable;
        final long mapsBefore = osMappingsOfGuestMemory();
        // A batch whose last ref is bad must undo the pins of the good ones before it.
        assertThatThrownBy(() -> gnttab.map(d, new int[]{ good, ref }, 2, w))
            .isInstanceOfSatisfying(GrantTableException.class,
                ex -> assertThat(ex.errno()).isEqualTo(Errno.EINVAL.number()));
        assertThat(gnttab.mappedPageCount()).isZero();
        assertThat(osMappingsOfGuestMemory()).isEqualTo(mapsBefore);
        assertThat(guest.grantFlags(good)).isEqualTo(GTF_PERMIT_ACCESS);
        assertThat(guest.state().grantPins().pins(good)).isZero();
        guest.endAccess(good);
    }

    /**
     * Random maps and unmaps (read-only and writable) of a few refs: the guest-visible GTF_reading/GTF_writing
     * bits always match what is mapped, and all clear at the end.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(longs = { 7L, 99L, 20261128L })
    void shouldKeepReadingAndWritingBitsInStepWithMappings(final long seed)
    {
        System.out.println("seed " + seed);
        final java.util.Random random = new java.util.Random(seed);
        final int[] refs = new int[4];
        for (int i = 0; i < refs.length; i++)
        {
            refs[i] = guest.grantAccess(0, guest.allocatePage(), false);
        }
        final java.util.List<GrantMapping> open = new java.util.ArrayList<>();
        final java.util.List<int[]> what = new java.util.ArrayList<>();
        for (int step = 0; step < 500; step++)
        {
            if (open.isEmpty() || random.nextBoolean())
            {
                final int ref = random.nextInt(refs.length);
                final boolean writable = random.nextBoolean();
                open.add(gnttab.mapOne(GUEST, refs[ref], writable));
                what.add(new int[]{ ref, writable ? 1 : 0 });
            }
            else
            {
                final int i = random.nextInt(open.size());
                open.remove(i).close();
                what.remove(i);
            }
            for (int r = 0; r < refs.length; r++)
            {
                int readers = 0;
                int writers = 0;
                for (final int[] w : what)
                {
                    if (w[0] == r)
                    {
                        readers += w[1] == 0 ? 1 : 0;
                        writers += w[1];
                    }
                }
                final int expected = GTF_PERMIT_ACCESS | (readers + writers > 0 ? GTF_READING : 0) |
                    (writers > 0 ? GTF_WRITING : 0);
                assertThat(guest.grantFlags(refs[r])).as("seed %d step %d ref %d", seed, step, r).isEqualTo(expected);
            }
        }
        open.forEach(GrantMapping::close);
        assertThat(gnttab.mappedPageCount()).isZero();
        for (final int ref : refs)
        {
            guest.endAccess(ref);
        }
    }

    @Test
    void shouldRefuseAMapThatWouldWrapThePinCount()
    {
        final int ref = guest.grantAccess(0, guest.allocatePage(), false);
        // White box: pretend 65535 read-only mappings exist (more than vm.max_map_count allows to make for real).
        final int pins = SimDomainDescriptor.activeOffset(ref) + SimDomainDescriptor.ACTIVE_PINS;
        guest.state().control().putIntVolatile(pins, 0xFFFF);
        assertThatThrownBy(() -> gnttab.mapOne(GUEST, ref, false)).isInstanceOf(GrantTableException.class)
            .hasMessageContaining("65535");
        guest.state().control().putIntVolatile(pins, 0);
        gnttab.mapOne(GUEST, ref, false).close();
        assertThat(guest.state().grantPins().pins(ref)).isZero();
    }

    @Test
    void shouldMapScatteredFramesAsOneContiguousRange()
    {
        final int a = guest.allocatePage();
        guest.allocatePage();
        final int b = guest.allocatePage();
        guest.page(a).putInt(4092, 0xA);
        guest.page(b).putInt(0, 0xB);
        final int[] refs = { guest.grantAccess(0, b, false), guest.grantAccess(0, a, false) };
        try (GrantMapping m = gnttab.map(GUEST, refs, 2, false))
        {
            assertThat(m.pageCount()).isEqualTo(2);
            assertThat(m.buffer().capacity()).isEqualTo(8192);
            assertThat(m.buffer().getInt(0)).isEqualTo(0xB);
            assertThat(m.buffer().getInt(4096 + 4092)).isEqualTo(0xA);
        }
    }

    @Test
    void shouldLimitMappedGrantsPerHandle()
    {
        gnttab.setMaxGrants(1);
        final int r1 = guest.grantAccess(0, guest.allocatePage(), false);
        final int r2 = guest.grantAccess(0, guest.allocatePage(), false);
        try (GrantMapping ignore = gnttab.mapOne(GUEST, r1, false))
        {
            assertThatThrownBy(() -> gnttab.mapOne(GUEST, r2, false))
                .isInstanceOfSatisfying(GrantTableException.class,
                    ex -> assertThat(ex.errno()).isEqualTo(Errno.ENOMEM.number()));
        }
        assertThat(gnttab.mappedPageCount()).isZero();
    }

    @Test
    void shouldCopyToAndFromGrantsWithPerOperationStatus()
    {
        final int frame = guest.allocatePage();
        guest.page(frame).putStringWithoutLengthAscii(10, "guest data");
        final int rw = guest.grantAccess(0, frame, false);
        final int ro = guest.grantAccess(0, frame, true);
        final int other = guest.grantAccess(3, frame, false);
        final ByteBuffer local = ByteBuffer.allocateDirect(4096);
        final UnsafeBuffer lb = new UnsafeBuffer(local);
        lb.putStringWithoutLengthAscii(0, "backend data");
        final long addr = lb.addressOffset();

        final GrantCopyBatch batch = new GrantCopyBatch(8);
        batch.addFromForeign(GUEST, rw, 10, addr + 100, 10);      // ok
        batch.addToForeign(GUEST, rw, 200, addr, 12);             // ok
        batch.addToForeign(GUEST, ro, 0, addr, 4);                // read-only: general error
        batch.addFromForeign(GUEST, SimDomainDescriptor.NR_GRANT_ENTRIES, 0, addr, 4); // bad ref
        batch.addFromForeign(42, rw, 0, addr, 4);                 // bad domain
        batch.addFromForeign(GUEST, other, 0, addr, 4);           // granted to dom3
        batch.addFromForeign(GUEST, rw, 4000, addr, 200);         // crosses the page
        gnttab.copy(batch);

        assertThat(new short[]{ batch.status(0), batch.status(1), batch.status(2), batch.status(3),
            batch.status(4), batch.status(5), batch.status(6) }).containsExactly(
            GrantCopyBatch.GNTST_OKAY, GrantCopyBatch.GNTST_OKAY, GrantCopyBatch.GNTST_GENERAL_ERROR,
            GrantCopyBatch.GNTST_BAD_GNTREF, GrantCopyBatch.GNTST_BAD_DOMAIN, GrantCopyBatch.GNTST_GENERAL_ERROR,
            GrantCopyBatch.GNTST_BAD_COPY_ARG);
        assertThat(lb.getStringWithoutLengthAscii(100, 10)).isEqualTo("guest data");
        assertThat(guest.page(frame).getStringWithoutLengthAscii(200, 12)).isEqualTo("backend data");
        assertThat(guest.page(frame).getInt(0)).isZero();
        assertThat(guest.grantFlags(rw)).isEqualTo(GTF_PERMIT_ACCESS);
        assertThat(guest.grantFlags(ro)).isEqualTo(GTF_PERMIT_ACCESS | GTF_READONLY);
    }

    @Test
    void shouldCopyFromOneGuestsGrantStraightIntoAnothersWithXensChecksOnBothSides()
    {
        final SimDomain other = platform.host().createDomain(7, 64);
        final int srcFrame = guest.allocatePage();
        guest.page(srcFrame).putStringWithoutLengthAscii(100, "frame from guest 5");
        final int src = guest.grantAccess(0, srcFrame, true);
        final int dstFrame = other.allocatePage();
        final int dst = other.grantAccess(0, dstFrame, false);
        final int dstReadOnly = other.grantAccess(0, other.allocatePage(), true);
        final int srcForDom3 = guest.grantAccess(3, srcFrame, true);

        final GrantCopyBatch batch = new GrantCopyBatch(8);
        batch.addForeignToForeign(GUEST, src, 100, 7, dst, 2000, 18);          // ok
        batch.addForeignToForeign(GUEST, src, 100, 7, dstReadOnly, 0, 18);     // into a read-only grant
        batch.addForeignToForeign(GUEST, srcForDom3, 100, 7, dst, 0, 18);      // source granted to dom3
        batch.addForeignToForeign(GUEST, src, 4090, 7, dst, 0, 18);            // source crosses its page
        batch.addForeignToForeign(GUEST, src, 0, 42, dst, 0, 4);               // no such destination domain
        batch.addFromForeign(7, dst, 2000, 0, 0);                                // a plain op after them
        gnttab.copy(batch);

        assertThat(new short[]{ batch.status(0), batch.status(1), batch.status(2), batch.status(3),
            batch.status(4), batch.status(5) }).containsExactly(GrantCopyBatch.GNTST_OKAY,
            GrantCopyBatch.GNTST_GENERAL_ERROR, GrantCopyBatch.GNTST_GENERAL_ERROR, GrantCopyBatch.GNTST_BAD_COPY_ARG,
            GrantCopyBatch.GNTST_BAD_DOMAIN, GrantCopyBatch.GNTST_OKAY);
        assertThat(other.page(dstFrame).getStringWithoutLengthAscii(2000, 18)).isEqualTo("frame from guest 5");
        assertThat(other.page(dstFrame).getInt(0)).as("nothing landed from the refused copies").isZero();
        assertThat(guest.grantFlags(src)).isEqualTo(GTF_PERMIT_ACCESS | GTF_READONLY);
        assertThat(other.grantFlags(dst)).isEqualTo(GTF_PERMIT_ACCESS);
        assertThat(platform.host().state(GUEST).grantPins().pins(src)).isZero();
        assertThat(platform.host().state(7).grantPins().pins(dst)).isZero();
    }

    @Test
    void shouldReleaseEveryPinOfABatchAndKeepThePinsOfAMapping()
    {
        final int frame = guest.allocatePage();
        final int rw = guest.grantAccess(0, frame, false);
        final int mapped = guest.grantAccess(0, guest.allocatePage(), false);
        final UnsafeBuffer lb = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
        lb.putStringWithoutLengthAscii(0, "abcdefgh");
        final long addr = lb.addressOffset();
        try (GrantMapping mapping = gnttab.mapOne(GUEST, mapped, true))
        {
            final int pinsOfTheMapping = platform.host().state(GUEST).grantPins().pins(mapped);
            final GrantCopyBatch batch = new GrantCopyBatch(8);
            // One ref several times in one run (each operation pins it once more), a bad ref in the middle.
            batch.addToForeign(GUEST, rw, 0, addr, 4);
            batch.addFromForeign(GUEST, rw, 0, addr + 1000, 4);
            batch.addFromForeign(GUEST, 1999, 0, addr, 4);
            batch.addToForeign(GUEST, rw, 4, addr + 4, 4);
            batch.addToForeign(GUEST, mapped, 0, addr, 8);
            gnttab.copy(batch);

            assertThat(new short[]{ batch.status(0), batch.status(1), batch.status(2), batch.status(3),
                batch.status(4) }).containsExactly(GrantCopyBatch.GNTST_OKAY, GrantCopyBatch.GNTST_OKAY,
                GrantCopyBatch.GNTST_GENERAL_ERROR, GrantCopyBatch.GNTST_OKAY, GrantCopyBatch.GNTST_OKAY);
            assertThat(guest.page(frame).getStringWithoutLengthAscii(0, 8)).isEqualTo("abcdefgh");
            assertThat(mapping.buffer().getStringWithoutLengthAscii(0, 8)).isEqualTo("abcdefgh");
            assertThat(platform.host().state(GUEST).grantPins().pins(rw)).isZero();
            assertThat(guest.grantFlags(rw)).isEqualTo(GTF_PERMIT_ACCESS);
            assertThat(platform.host().state(GUEST).grantPins().pins(mapped)).as("the mapping's pin stays")
                .isEqualTo(pinsOfTheMapping);
            assertThat(guest.grantFlags(mapped) & (GTF_READING | GTF_WRITING)).isEqualTo(GTF_READING | GTF_WRITING);
        }
        assertThat(guest.grantFlags(mapped)).isEqualTo(GTF_PERMIT_ACCESS);
    }

    @Test
    void shouldClearTheByteAndNotifyThePortOnUnmap()
    {
        final int frame = guest.allocatePage();
        guest.page(frame).putByte(64, (byte)1);
        final int ref = guest.grantAccess(0, frame, false);
        try (EventChannels guestEvtchn = guest.openEventChannels();
            EventChannels dom0Evtchn = platform.openEventChannels())
        {
            final int guestPort = guestEvtchn.bindUnboundPort(0);
            final int backendPort = dom0Evtchn.bindInterdomain(GUEST, guestPort);
            assertThat(drain(guestEvtchn)).isEqualTo(-1);

            final GrantMapping m = gnttab.mapOneWithNotify(GUEST, ref, true, 64, backendPort);
            assertThat(m.buffer().getByte(64)).isEqualTo((byte)1);
            m.close();

            assertThat(guest.page(frame).getByte(64)).isZero();
            assertThat(guestEvtchn.pending(1_000_000_000L)).isEqualTo(guestPort);
        }
    }

    @Test
    void shouldShareOwnPagesAndMapThemBack()
    {
        try (var gntshr = platform.openGrantSharing())
        {
            final var shared = gntshr.share(0, 2, true);
            assertThat(gntshr.sharedPageCount()).isEqualTo(2);
            shared.buffer().putStringWithoutLengthAscii(4096, "self");
            try (GrantMapping m = gnttab.map(0, new int[]{ shared.ref(0), shared.ref(1) }, 2, true))
            {
                assertThat(m.buffer().getStringWithoutLengthAscii(4096, 4)).isEqualTo("self");
                m.buffer().putStringWithoutLengthAscii(0, "back");
                assertThat(shared.buffer().getStringWithoutLengthAscii(0, 4)).isEqualTo("back");
            }
            shared.close();
            shared.close();
            assertThat(gntshr.sharedPageCount()).isZero();
            assertThat(platform.localDomain().grantedRefCount()).isZero();
        }
    }

    @Test
    void shouldRefuseMapsOfADestroyedDomain()
    {
        final int ref = guest.grantAccess(0, guest.allocatePage(), false);
        final GrantMapping m = gnttab.mapOne(GUEST, ref, false);
        platform.openDomainControl().destroy(GUEST);
        assertThat(platform.host().exists(GUEST)).isFalse();
        // The existing mapping stays readable until unmapped; new maps are refused.
        assertThat(m.buffer().getInt(0)).isZero();
        m.close();
        assertThatThrownBy(() -> gnttab.mapOne(GUEST, ref, false)).isInstanceOf(GrantTableException.class)
            .hasMessageContaining("GNTST_bad_domain");
    }

    /**
     * Counts this process's mappings of the guest's memory file in /proc/self/maps: the kernel's view, so a
     * leaked mmap shows even if our own counter were wrong.
     */
    private long osMappingsOfGuestMemory()
    {
        final String file = guest.state().directory().resolve("memory").toString();
        try (var lines = java.nio.file.Files.lines(Path.of("/proc/self/maps")))
        {
            return lines.filter(l -> l.endsWith(file)).count();
        }
        catch (final java.io.IOException ex)
        {
            throw new java.io.UncheckedIOException(ex);
        }
    }

    private static int drain(final EventChannels evtchn)
    {
        int last = -1;
        int p;
        while ((p = evtchn.pending()) >= 0)
        {
            evtchn.unmask(p);
            last = p;
        }
        return last == -1 ? -1 : evtchn.pending();
    }
}
