package org.dom0j.cli;

import org.dom0j.platform.PlatformEnvironment;
import org.dom0j.sim.SimPlatformProvider;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The domains {@code dom0j create} made, one file each, so that {@code dom0j serve} can do what their config says
 * when they shut down ({@link ShutdownActions}), as xl keeps each domain's config for its per-domain daemon. A
 * record is {@code domain-<domid>.properties}: the xl config's text and where it came from, the UUID the domain was
 * created with, and the times of its recent restarts. Records live in {@code /run/dom0j/domains} on Xen (a tmpfs:
 * domains do not outlive the host, and neither should their records) and in {@code <sim dir>/domain-records} on the
 * simulator. Only root (or the simulator's owner) writes there; nothing in a record comes from a guest.
 * <p>
 * Each record is written whole to a temporary file and renamed over the old one, so a reader never sees half of
 * one.
 * <p>
 * Any thread; the files are the only state.
 */
final class DomainRecords
{
    /** The directory on Xen. */
    static final Path XEN_DIRECTORY = Path.of("/run/dom0j/domains");

    private static final Pattern FILE = Pattern.compile("domain-([0-9]{1,5})\\.properties");

    private final Path directory;

    /**
     * A domain as {@code dom0j create} made it.
     *
     * @param domid    its domid now.
     * @param uuid     the UUID it was created with.
     * @param source   the config file's name (for messages).
     * @param config   the config file's text, as it was read at create.
     * @param restarts when it was last restarted (epoch milliseconds, oldest first; at most a few).
     */
    record Record(int domid, String uuid, String source, String config, long[] restarts)
    {
        /**
         * @param newDomid the domid of the domain built again.
         * @param newUuid  its UUID.
         * @param now      the time of the restart.
         * @param keep     how many restart times to keep.
         * @return the record of the new domain.
         */
        Record restarted(final int newDomid, final String newUuid, final long now, final int keep)
        {
            final long[] times = Arrays.copyOfRange(restarts, Math.max(0, restarts.length - (keep - 1)),
                restarts.length + 1);
            times[times.length - 1] = now;
            return new Record(newDomid, newUuid, source, config, times);
        }
    }

    /**
     * @param directory where the records are.
     */
    DomainRecords(final Path directory)
    {
        this.directory = directory;
    }

    /**
     * @param platform    the platform's name.
     * @param environment the environment (for the simulator's directory).
     * @return the records of that platform.
     */
    static DomainRecords of(final String platform, final PlatformEnvironment environment)
    {
        return new DomainRecords(SimPlatformProvider.NAME.equals(platform) ?
            SimPlatformProvider.hostDirectory(environment).resolve("domain-records") : XEN_DIRECTORY);
    }

    Path directory()
    {
        return directory;
    }

    /**
     * Writes (or replaces) a domain's record.
     *
     * @param record the record.
     * @throws UncheckedIOException when it cannot be written.
     */
    void write(final Record record)
    {
        final Properties p = new Properties();
        p.setProperty("uuid", record.uuid());
        p.setProperty("source", record.source());
        p.setProperty("config", record.config());
        final StringBuilder times = new StringBuilder();
        for (final long t : record.restarts())
        {
            times.append(times.length() > 0 ? "," : "").append(t);
        }
        p.setProperty("restarts", times.toString());
        try
        {
            Files.createDirectories(directory);
            final Path file = file(record.domid());
            final Path tmp = directory.resolve(file.getFileName() + ".tmp");
            try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8))
            {
                p.store(w, "dom0j create: domain " + record.domid() + " (dom0j serve acts on its on_* settings)");
            }
            try
            {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
            catch (final AtomicMoveNotSupportedException ex)
            {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot write the record of domain " + record.domid() + " in " +
                directory + ": " + ex.getMessage(), ex);
        }
    }

    /**
     * @param domid a domain.
     * @return its record, or null when there is none (or it cannot be read).
     */
    Record read(final int domid)
    {
        final Path file = file(domid);
        final Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8))
        {
            p.load(r);
        }
        catch (final IOException ex)
        {
            return null;
        }
        final String uuid = p.getProperty("uuid");
        final String config = p.getProperty("config");
        if (null == uuid || null == config)
        {
            return null;
        }
        final List<Long> times = new ArrayList<>();
        for (final String t : p.getProperty("restarts", "").split(","))
        {
            try
            {
                if (!t.isBlank())
                {
                    times.add(Long.parseLong(t.strip()));
                }
            }
            catch (final NumberFormatException ex)
            {
                // A damaged time counts as no restart.
            }
        }
        return new Record(domid, uuid, p.getProperty("source", file.toString()), config,
            times.stream().mapToLong(Long::longValue).toArray());
    }

    /**
     * @return the domids that have a record, in no order.
     */
    List<Integer> domids()
    {
        final List<Integer> result = new ArrayList<>();
        if (!Files.isDirectory(directory))
        {
            return result;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, "domain-*.properties"))
        {
            for (final Path f : files)
            {
                final Matcher m = FILE.matcher(f.getFileName().toString());
                if (m.matches())
                {
                    result.add(Integer.parseInt(m.group(1)));
                }
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot list " + directory + ": " + ex.getMessage(), ex);
        }
        return result;
    }

    /**
     * Forgets a domain.
     *
     * @param domid the domain.
     */
    void remove(final int domid)
    {
        try
        {
            Files.deleteIfExists(file(domid));
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot remove the record of domain " + domid + ": " + ex.getMessage(), ex);
        }
    }

    private Path file(final int domid)
    {
        return directory.resolve("domain-" + domid + ".properties");
    }
}
