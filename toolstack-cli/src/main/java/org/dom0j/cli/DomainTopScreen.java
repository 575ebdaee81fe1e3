package org.dom0j.cli;

import java.io.PrintWriter;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How {@code dom0j top} shows domains, as {@code xentop} does: a header with totals, one row per domain, sorted by
 * a field chosen with a key. Keys: {@code n} name, {@code i} domid, {@code c} CPU, {@code m} memory, {@code v}
 * vCPUs, {@code s}/{@code S} the next field (xentop's S), {@code r} reverse, {@code q} quit, space refresh.
 * <p>
 * Runs on the CLI's thread.
 */
final class DomainTopScreen
{
    /** The fields rows can be sorted by, in the order {@code s} cycles through them. */
    enum SortField
    {
        NAME('n', Comparator.comparing(DomainTopSample.Row::name).thenComparingInt(DomainTopSample.Row::domid)),
        ID('i', Comparator.comparingInt(DomainTopSample.Row::domid)),
        CPU('c', Comparator.comparingDouble(DomainTopSample.Row::cpuPercent)
            .thenComparingLong(DomainTopSample.Row::cpuNanos).reversed()
            .thenComparingInt(DomainTopSample.Row::domid)),
        MEM('m', Comparator.comparingLong(DomainTopSample.Row::memoryKiB).reversed()
            .thenComparingInt(DomainTopSample.Row::domid)),
        VCPUS('v', Comparator.comparingInt(DomainTopSample.Row::vcpus).reversed()
            .thenComparingInt(DomainTopSample.Row::domid));

        final char key;
        final Comparator<DomainTopSample.Row> order;

        SortField(final char key, final Comparator<DomainTopSample.Row> order)
        {
            this.key = key;
            this.order = order;
        }
    }

    private static final String COLUMNS = "%18s %5s %6s %10s %6s %10s %10s %5s %4s %9s %9s %4s %9s %9s%n";

    private SortField sort = SortField.NAME;
    private boolean reversed;

    SortField sort()
    {
        return sort;
    }

    /**
     * @param key a key typed.
     * @return false when it means quit.
     */
    boolean onKey(final int key)
    {
        switch (key)
        {
            case 'q', 'Q' ->
            {
                return false;
            }
            case 's', 'S' -> sort = SortField.values()[(sort.ordinal() + 1) % SortField.values().length];
            case 'r', 'R' -> reversed = !reversed;
            default ->
            {
                for (final SortField f : SortField.values())
                {
                    if (f.key == Character.toLowerCase(key))
                    {
                        sort = f;
                    }
                }
            }
        }
        return true;
    }

    List<DomainTopSample.Row> sorted(final DomainTopSample sample)
    {
        final List<DomainTopSample.Row> rows = new ArrayList<>(sample.rows);
        rows.sort(reversed ? sort.order.reversed() : sort.order);
        return rows;
    }

    void render(final PrintWriter out, final String platform, final DomainTopSample sample, final boolean keysLine)
    {
        final List<DomainTopSample.Row> rows = sorted(sample);
        int running = 0;
        int blocked = 0;
        int paused = 0;
        int shutdown = 0;
        int crashed = 0;
        int dying = 0;
        long memory = 0;
        for (final DomainTopSample.Row r : rows)
        {
            final String s = r.state();
            running += s.charAt(0) == 'r' ? 1 : 0;
            blocked += s.charAt(1) == 'b' ? 1 : 0;
            paused += s.charAt(2) == 'p' ? 1 : 0;
            shutdown += s.charAt(3) == 's' ? 1 : 0;
            crashed += s.charAt(4) == 'c' ? 1 : 0;
            dying += s.charAt(5) == 'd' ? 1 : 0;
            memory += r.memoryKiB();
        }
        out.printf(Locale.ROOT, "dom0j top - %s   platform %s%n",
            LocalTime.now().format(DateTimeFormatter.ofPattern("HH:mm:ss")), platform);
        out.printf(Locale.ROOT, "%d domains: %d running, %d blocked, %d paused, %d shutdown, %d crashed, %d dying%n",
            rows.size(), running, blocked, paused, shutdown, crashed, dying);
        out.printf(Locale.ROOT, "Mem: %dk in domains   sorted by %s%s%n", memory,
            sort.name().toLowerCase(Locale.ROOT), reversed ? " (reversed)" : "");
        if (keysLine)
        {
            out.println("keys: n name, i id, c cpu, m mem, v vcpus, s next field, r reverse, space refresh, q quit");
        }
        out.printf(Locale.ROOT, COLUMNS, "NAME", "ID", "STATE", "CPU(sec)", "CPU(%)", "MEM(k)", "MAXMEM(k)", "VCPUS",
            "NETS", "NETTX(k)", "NETRX(k)", "VBDS", "VBD_RD", "VBD_WR");
        for (final DomainTopSample.Row r : rows)
        {
            final String name = r.name().isEmpty() ? "(" + r.domid() + ")" : r.name();
            out.printf(Locale.ROOT, COLUMNS, name.length() > 18 ? name.substring(0, 18) : name, r.domid(),
                r.state(), String.format(Locale.ROOT, "%.0f", r.cpuNanos() / 1e9),
                r.cpuPercent() < 0 ? "-" : String.format(Locale.ROOT, "%.1f", r.cpuPercent()), r.memoryKiB(),
                r.maxMemoryKiB(), r.vcpus(), r.nets(), dash(r.netTxKiB()), dash(r.netRxKiB()), r.vbds(),
                dash(r.vbdReads()), dash(r.vbdWrites()));
        }
        out.flush();
    }

    Map<String, Object> json(final String platform, final DomainTopSample sample)
    {
        final Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("platform", platform);
        doc.put("sortedBy", sort.name().toLowerCase(Locale.ROOT));
        final List<Object> domains = new ArrayList<>();
        for (final DomainTopSample.Row r : sorted(sample))
        {
            domains.add(r.json());
        }
        doc.put("domains", domains);
        return doc;
    }

    private static String dash(final long value)
    {
        return value < 0 ? "-" : Long.toString(value);
    }
}
