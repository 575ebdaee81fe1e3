package org.dom0j.blkback;

import org.dom0j.nbd.NbdConnection;
import org.dom0j.nbd.NbdExport;
import org.dom0j.nbd.NbdUri;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_MAX_SEGMENTS_PER_REQUEST;
import static org.dom0j.protocol.blkif.BlkifConstants.PAGE_SIZE;
import static org.dom0j.protocol.blkif.BlkifConstants.SECTOR_SIZE;

/**
 * A disk stored in an NBD export ({@code params} = {@code nbd://host[:port]/export} or
 * {@code nbd+unix:///export?socket=/path}). Opening it is a probe: one connection that shakes hands, learns the
 * export's size, flags and block sizes, and hangs up. Each queue then has a connection of its own
 * ({@link #connect}, kept by its {@link NbdLink}): the export's size is fixed, so the size is the probe's, and it is
 * checked again at every connection.
 * <p>
 * What the export must allow: requests aligned to 512 bytes (blkfront's sectors; a minimum block size above that is
 * refused) and at least one direct blkif request's payload (11 segments of 4 KiB); the device offers no larger
 * indirect requests than the export's maximum payload takes (see {@link #maxTransferBytes()}).
 * <p>
 * Immutable; any thread.
 */
final class NbdStorage implements Storage
{
    /** How long connecting and shaking hands may take, at a probe, a queue's connection and each reconnection. */
    static final long HANDSHAKE_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(10);
    /** The largest request without indirect segments: what every export must take in one command. */
    static final int LARGEST_DIRECT_REQUEST = BLKIF_MAX_SEGMENTS_PER_REQUEST * PAGE_SIZE;

    private final NbdUri uri;
    private final NbdExport export;

    private NbdStorage(final NbdUri uri, final NbdExport export)
    {
        this.uri = uri;
        this.export = export;
    }

    /**
     * Connects once, learns what the export is, and hangs up.
     *
     * @param uri the export.
     * @return it, as the server describes it.
     * @throws IOException when the server cannot be reached or refuses the export (the message quotes it), or the
     *                     export cannot be served to blkfront (its block sizes).
     */
    static NbdStorage probe(final NbdUri uri) throws IOException
    {
        final NbdExport export;
        try (NbdConnection probe = NbdConnection.connect(uri, 1, HANDSHAKE_TIMEOUT_NANOS))
        {
            export = probe.export();
        }
        final String problem = unfit(export, export.size());
        if (null != problem)
        {
            throw new IOException(uri + ": " + problem);
        }
        return new NbdStorage(uri, export);
    }

    /**
     * @return why blkback cannot serve this export as a disk of {@code size} bytes, or null when it can.
     */
    private static String unfit(final NbdExport export, final long size)
    {
        if (export.size() != size)
        {
            return "the export is now " + export.size() + " bytes; it was " + size + " bytes when the disk was opened";
        }
        if (export.minimumBlockSize() > SECTOR_SIZE)
        {
            return "the export needs requests aligned to " + export.minimumBlockSize() + " bytes, and blkfront's " +
                "are aligned to " + SECTOR_SIZE + "-byte sectors (sector-size " + SECTOR_SIZE + ")";
        }
        if (export.maximumPayload() < LARGEST_DIRECT_REQUEST)
        {
            return "the export takes at most " + export.maximumPayload() + " bytes in one request, less than one " +
                "blkif request carries without indirect segments (" + LARGEST_DIRECT_REQUEST + ")";
        }
        return null;
    }

    /**
     * @param now what a new connection's handshake agreed.
     * @return why the disk cannot go on with it (its size or block sizes changed), or null when it can.
     */
    String unfit(final NbdExport now)
    {
        final String problem = unfit(now, export.size());
        if (null == problem && now.maximumPayload() < export.maximumPayload())
        {
            return "the export now takes at most " + now.maximumPayload() + " bytes in one request; it took " +
                export.maximumPayload() + " when the disk was opened";
        }
        return problem;
    }

    /**
     * A queue's own connection.
     *
     * @param maxInFlight the most requests it may have in flight.
     * @return the connection, its export checked to be the disk's.
     * @throws IOException when the server cannot be reached or refuses, or the export changed.
     */
    NbdConnection connect(final int maxInFlight) throws IOException
    {
        final NbdConnection connection = NbdConnection.connect(uri, maxInFlight, HANDSHAKE_TIMEOUT_NANOS);
        final String problem = unfit(connection.export());
        if (null != problem)
        {
            connection.close();
            throw new IOException(uri + ": " + problem);
        }
        return connection;
    }

    /**
     * @return the export's URI.
     */
    NbdUri uri()
    {
        return uri;
    }

    /**
     * @return the export as the probe found it.
     */
    NbdExport export()
    {
        return export;
    }

    @Override
    public long size()
    {
        return export.size();
    }

    @Override
    public boolean sizeCanChange()
    {
        return false;
    }

    /**
     * The export's preferred block size, kept between a sector and a page: blkfront then aligns its requests as the
     * server likes them (qemu-nbd prefers 4096), and no guest is told of a physical block larger than a page.
     */
    @Override
    public int physicalBlockSize()
    {
        return Math.max(SECTOR_SIZE, Math.min(PAGE_SIZE, export.preferredBlockSize()));
    }

    @Override
    public boolean isReadOnly()
    {
        return export.isReadOnly();
    }

    @Override
    public boolean canFlush()
    {
        return export.canFlush();
    }

    @Override
    public boolean canDiscard()
    {
        return export.canTrim() && !export.isReadOnly();
    }

    @Override
    public boolean canSecureDiscard()
    {
        return false;
    }

    @Override
    public boolean allowsManyQueues()
    {
        return export.canMultiConn();
    }

    @Override
    public long maxTransferBytes()
    {
        return export.maximumPayload();
    }

    @Override
    public String describe()
    {
        return uri + " (" + (export.isReadOnly() ? "read-only" : "writable") + (export.canFlush() ? ", flush" : "") +
            (export.canTrim() ? ", trim" : "") + (export.canMultiConn() ? ", multi-conn" : "") + ", block sizes " +
            export.minimumBlockSize() + "/" + export.preferredBlockSize() + "/" + export.maximumPayload() + ")";
    }

    /**
     * Nothing to close: the probe hung up, and each queue closes its own connection.
     */
    @Override
    public void close()
    {
    }
}
