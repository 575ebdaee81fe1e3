package org.dom0j.cli;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.gnttab.GrantCopyBatch;
import org.dom0j.gnttab.GrantMapping;
import org.dom0j.gnttab.GrantSharing;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.gnttab.SharedPages;
import org.dom0j.platform.XenPlatform;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * {@code dom0j selftest}: exercises grants and event channels on the chosen platform without another domain.
 * It shares a page with its own domain (gntshr), maps it back (gnttab), checks that writes cross both ways,
 * grant-copies into and out of it, binds an event channel to itself (unbound port + interdomain bind), notifies
 * both ways and sees the events, then tears everything down and checks that nothing is left mapped or shared.
 * <p>
 * Runs on the CLI's thread.
 */
@Command(
    name = "selftest",
    description = "Check grants and event channels on this platform by granting a page to this domain and " +
        "binding an event channel to it.",
    footer = {
        "",
        "Examples:",
        "  dom0j selftest                  on the platform auto picks",
        "  dom0j --platform xen selftest   in a Xen dom0 (needs root, /dev/xen/gntdev, gntalloc, evtchn)"
    })
final class SelfTestCommand implements Callable<Integer>
{
    private static final long WAIT_NANOS = TimeUnit.SECONDS.toNanos(5);
    private static final int PAGE = 4096;

    @ParentCommand
    private Dom0j root;

    @Spec
    private CommandSpec spec;

    private PrintWriter out;
    private long stepStart;
    private int checks;

    @Override
    public Integer call()
    {
        out = spec.commandLine().getOut();
        try (XenPlatform platform = root.platforms().open(root.options().platform(), root.environment()))
        {
            final int self = platform.localDomid();
            out.println("selftest on " + platform.name() + ": " + platform.description());
            out.flush();
            start();
            try (GrantSharing gntshr = platform.openGrantSharing();
                GrantTables gnttab = platform.openGrantTables();
                EventChannels evtchn = platform.openEventChannels())
            {
                ok("open gntshr, gnttab and evtchn handles");
                grants(self, gntshr, gnttab);
                events(self, evtchn);
                check(gnttab.mappedPageCount() == 0, "no grant mapping left (" + gnttab.mappedPageCount() + ")");
                check(gntshr.sharedPageCount() == 0, "no shared page left (" + gntshr.sharedPageCount() + ")");
            }
            ok("closed the handles");
            out.println("selftest passed: " + checks + " checks on " + platform.name() + ", domain " + self);
            out.flush();
            return ExitCodes.OK;
        }
        catch (final SelfTestFailure ex)
        {
            out.println("FAIL " + ex.getMessage());
            out.flush();
            return ExitCodes.FAILURE;
        }
    }

    private void grants(final int self, final GrantSharing gntshr, final GrantTables gnttab)
    {
        final SharedPages shared = gntshr.share(self, 1, true);
        final int ref = shared.ref(0);
        ok("shared 1 page with domain " + self + " (gntshr): grant ref " + ref);

        final GrantMapping mapping = gnttab.mapOne(self, ref, true);
        ok("mapped grant ref " + ref + " of domain " + self + " writable (gnttab)");

        final UnsafeBuffer page = mapping.buffer();
        final UnsafeBuffer owner = shared.buffer();
        page.putLong(0, 0x646f6d306a21L);
        owner.putLong(8, 0x1122334455667788L);
        check(owner.getLong(0) == 0x646f6d306a21L && page.getLong(8) == 0x1122334455667788L,
            "writes cross both ways between the shared page and its mapping");

        final UnsafeBuffer local = new UnsafeBuffer(ByteBuffer.allocateDirect(PAGE));
        for (int i = 0; i < 256; i++)
        {
            local.putByte(i, (byte)(i ^ 0x5A));
        }
        final GrantCopyBatch batch = new GrantCopyBatch(2);
        batch.addToForeign(self, ref, 1024, local.addressOffset(), 256);
        batch.addFromForeign(self, ref, 0, local.addressOffset() + 2048, 16);
        gnttab.copy(batch);
        check(batch.status(0) == GrantCopyBatch.GNTST_OKAY && batch.status(1) == GrantCopyBatch.GNTST_OKAY,
            "grant copy to and from ref " + ref + ": status " + batch.status(0) + ", " + batch.status(1));
        boolean same = local.getLong(2048) == 0x646f6d306a21L && local.getLong(2056) == 0x1122334455667788L;
        for (int i = 0; i < 256; i++)
        {
            same &= owner.getByte(1024 + i) == (byte)(i ^ 0x5A) && page.getByte(1024 + i) == (byte)(i ^ 0x5A);
        }
        check(same, "grant-copied bytes arrived (256 in, 16 out)");

        mapping.close();
        mapping.close();
        check(gnttab.mappedPageCount() == 0, "unmapped (twice: the second does nothing)");
        shared.close();
        ok("unshared the page");
    }

    private void events(final int self, final EventChannels evtchn)
    {
        final int unbound = evtchn.bindUnboundPort(self);
        final int bound = evtchn.bindInterdomain(self, unbound);
        ok("bound unbound port " + unbound + " and interdomain port " + bound + " to domain " + self);

        // Xen raises the new interdomain port when it is bound (events sent to the unbound end may have been lost).
        int early = evtchn.pending(TimeUnit.MILLISECONDS.toNanos(200));
        final StringBuilder seen = new StringBuilder();
        while (early >= 0)
        {
            seen.append(seen.length() == 0 ? "" : ",").append(early);
            evtchn.unmask(early);
            early = evtchn.pending();
        }
        ok("pending right after the bind: " + (seen.length() == 0 ? "none" : "port " + seen));

        evtchn.notify(bound);
        check(evtchn.awaitEvent(WAIT_NANOS), "awaitEvent (what an idle strategy parks in) saw the event coming");
        final int first = awaitPort(evtchn, unbound);
        check(first == unbound, "notify on port " + bound + " fired port " + first + " (expected " + unbound + ")");
        evtchn.notify(bound);
        check(evtchn.pending(TimeUnit.MILLISECONDS.toNanos(100)) == -1,
            "port " + unbound + " stays masked: a second notify is held");
        evtchn.unmask(unbound);
        check(awaitPort(evtchn, unbound) == unbound, "unmask delivered the held event on port " + unbound);
        evtchn.unmask(unbound);

        evtchn.notify(unbound);
        final int back = awaitPort(evtchn, bound);
        check(back == bound, "notify on port " + unbound + " fired port " + back + " (expected " + bound + ")");
        evtchn.unmask(bound);

        evtchn.unbind(bound);
        evtchn.unbind(unbound);
        ok("unbound both ports");
    }

    private static int awaitPort(final EventChannels evtchn, final int port)
    {
        final long deadline = System.nanoTime() + WAIT_NANOS;
        int p;
        do
        {
            p = evtchn.pending(Math.max(1, deadline - System.nanoTime()));
            if (p >= 0 && p != port)
            {
                evtchn.unmask(p);
            }
        }
        while (p >= 0 && p != port && System.nanoTime() < deadline);
        return p;
    }

    private void start()
    {
        stepStart = System.nanoTime();
    }

    private void ok(final String what)
    {
        final long micros = TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - stepStart);
        out.printf("  ok  %-78s %8d us%n", what, micros);
        out.flush();
        checks++;
        start();
    }

    private void check(final boolean passed, final String what)
    {
        if (!passed)
        {
            throw new SelfTestFailure(what);
        }
        ok(what);
    }

    /**
     * A check that did not hold.
     */
    static final class SelfTestFailure extends RuntimeException
    {
        private static final long serialVersionUID = 1L;

        SelfTestFailure(final String message)
        {
            super(message);
        }
    }
}
