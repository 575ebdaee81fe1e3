package org.dom0j.cli;

import org.dom0j.backend.CountersFile;
import org.dom0j.domctl.DomainInfo;
import org.dom0j.xenstore.XenStore;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One reading of every domain for {@code dom0j top}, as {@code xentop} shows them: the hypervisor's view, the
 * devices in this domain's backend directories, and, when {@code dom0j serve} runs, its counters summed per
 * domain (blkback's {@code rd_req}/{@code wr_req} for VBD_RD/VBD_WR, netback's {@code tx_bytes}/{@code rx_bytes} for
 * NETTX/NETRX: what the guest sent and received). Values serve does not have are -1 (shown "-").
 * <p>
 * Runs on the CLI's thread.
 */
final class DomainTopSample
{
    /**
     * A domain's row.
     *
     * @param domid      the domain.
     * @param name       its name, or "".
     * @param state      xl's state letters.
     * @param cpuNanos   CPU time used.
     * @param cpuPercent CPU use since the previous reading, or -1 on the first.
     * @param memoryKiB  current allocation.
     * @param maxMemoryKiB limit.
     * @param vcpus      online vCPUs.
     * @param nets       vifs in the backend directories.
     * @param netTxKiB   KiB the guest sent through serve, or -1.
     * @param netRxKiB   KiB the guest received through serve, or -1.
     * @param vbds       disks in the backend directories.
     * @param vbdReads   read requests serve answered, or -1.
     * @param vbdWrites  write requests serve answered, or -1.
     */
    record Row(int domid, String name, String state, long cpuNanos, double cpuPercent, long memoryKiB,
        long maxMemoryKiB, int vcpus, int nets, long netTxKiB, long netRxKiB, int vbds, long vbdReads,
        long vbdWrites)
    {
        Map<String, Object> json()
        {
            final Map<String, Object> m = new LinkedHashMap<>();
            m.put("domid", domid);
            m.put("name", name);
            m.put("state", state);
            m.put("cpuSeconds", cpuNanos / 1e9);
            m.put("cpuPercent", cpuPercent < 0 ? null : cpuPercent);
            m.put("memoryKiB", memoryKiB);
            m.put("maxMemoryKiB", maxMemoryKiB);
            m.put("vcpus", vcpus);
            m.put("nets", nets);
            m.put("netTxKiB", netTxKiB < 0 ? null : netTxKiB);
            m.put("netRxKiB", netRxKiB < 0 ? null : netRxKiB);
            m.put("vbds", vbds);
            m.put("vbdReads", vbdReads < 0 ? null : vbdReads);
            m.put("vbdWrites", vbdWrites < 0 ? null : vbdWrites);
            return m;
        }
    }

    final long nanoTime;
    final List<Row> rows;

    private DomainTopSample(final long nanoTime, final List<Row> rows)
    {
        this.nanoTime = nanoTime;
        this.rows = rows;
    }

    /**
     * @param session  the domains.
     * @param counters serve's counters file (may not exist).
     * @param previous the previous reading, or null.
     * @return a new reading.
     */
    static DomainTopSample read(final DomainSession session, final Path counters, final DomainTopSample previous)
    {
        final long now = System.nanoTime();
        final Map<String, Long> served = servedCounters(counters);
        final Map<Integer, Long> cpuBefore = new HashMap<>();
        if (null != previous)
        {
            previous.rows.forEach(r -> cpuBefore.put(r.domid(), r.cpuNanos()));
        }
        final XenStore xs = session.xenStore();
        final String backends = "/local/domain/" + session.platform().localDomid() + "/backend/";
        final List<Row> rows = new ArrayList<>();
        for (final DomainSession.Domain d : session.domains())
        {
            final DomainInfo info = d.info();
            final int domid = info.domid();
            final Long before = cpuBefore.get(domid);
            final double percent = null == before || now <= previous.nanoTime ? -1 :
                Math.max(0, (info.cpuTimeNanos() - before) * 100.0 / (now - previous.nanoTime));
            int vbds = 0;
            for (final String type : List.of("vbd", "vbd3", "qdisk"))
            {
                vbds += DomainConfigJson.devices(xs, backends + type + "/" + domid).size();
            }
            final int nets = DomainConfigJson.devices(xs, backends + "vif/" + domid).size();
            rows.add(new Row(domid, d.name(), info.stateLetters(), info.cpuTimeNanos(), percent, info.memoryKiB(),
                info.maxMemoryKiB(), info.vcpus(), nets, kib(served.get(domid + " tx_bytes")),
                kib(served.get(domid + " rx_bytes")), vbds, orMinus(served.get(domid + " rd_req")),
                orMinus(served.get(domid + " wr_req"))));
        }
        return new DomainTopSample(now, rows);
    }

    private static long kib(final Long bytes)
    {
        return null == bytes ? -1 : bytes / 1024;
    }

    private static long orMinus(final Long value)
    {
        return null == value ? -1 : value;
    }

    /**
     * @return "{@code <domid> <counter>}" summed over the domain's queues, for the counters top shows.
     */
    static Map<String, Long> servedCounters(final Path path)
    {
        final Map<String, Long> sums = new HashMap<>();
        if (null == path || !Files.isRegularFile(path))
        {
            return sums;
        }
        try (CountersFile counters = CountersFile.openForReading(path))
        {
            TopCommand.read(counters).forEach((queue, values) ->
            {
                final int domid = domidOf(queue);
                if (domid >= 0)
                {
                    values.forEach((name, value) -> sums.merge(domid + " " + name, value, Long::sum));
                }
            });
        }
        catch (final RuntimeException ex)
        {
            // serve went away, or the file is being made: no served counters this time.
            sums.clear();
        }
        return sums;
    }

    /**
     * @param queue a counters queue name: "blkback-3-51712-q0" or "vif 3/0 q0".
     * @return its domain, or -1.
     */
    static int domidOf(final String queue)
    {
        final String digits;
        if (queue.startsWith("blkback-"))
        {
            final int dash = queue.indexOf('-', 8);
            digits = dash > 8 ? queue.substring(8, dash) : "";
        }
        else if (queue.startsWith("vif "))
        {
            final int slash = queue.indexOf('/', 4);
            digits = slash > 4 ? queue.substring(4, slash) : "";
        }
        else
        {
            return -1;
        }
        return DomainSession.isDomid(digits) ? Integer.parseInt(digits) : -1;
    }
}
