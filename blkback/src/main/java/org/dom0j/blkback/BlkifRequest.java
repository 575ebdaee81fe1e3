package org.dom0j.blkback;

import org.dom0j.protocol.blkif.BlkifConstants;
import org.dom0j.protocol.blkif.BlkifAbi;

import org.agrona.DirectBuffer;

import java.nio.ByteOrder;

import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_MAX_SEGMENTS_PER_REQUEST;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_DISCARD;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_FLUSH_DISKCACHE;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_INDIRECT;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_READ;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_WRITE;
import static org.dom0j.protocol.blkif.BlkifConstants.BLKIF_OP_WRITE_BARRIER;
import static org.dom0j.protocol.blkif.BlkifConstants.INDIRECT_SEGMENT_SIZE;
import static org.dom0j.protocol.blkif.BlkifConstants.MAX_INDIRECT_SEGMENTS_LIMIT;
import static org.dom0j.protocol.blkif.BlkifConstants.SECTORS_PER_PAGE;
import static org.dom0j.protocol.blkif.BlkifConstants.SEGMENTS_PER_INDIRECT_PAGE;

/**
 * A block request decoded from the backend's private copy of a ring slot (never from shared memory: the guest
 * could change it between two reads, XSA-155). Holds room for the largest request, allocated once per pool slot
 * and reused: {@link #decode} overwrites every field.
 * <p>
 * Counts read from the guest are kept as written (for validation) but clamped when used as loop bounds, so a
 * hostile count can never index past the arrays.
 * <p>
 * Not thread safe: owned by the ring agent, then by the I/O that serves it.
 */
public final class BlkifRequest
{
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private final int[] segmentGref;
    private final byte[] segmentFirst;
    private final byte[] segmentLast;
    private final int[] indirectGrefs = new int[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];

    private int operation;
    private int ioOperation;
    private int nrSegments;
    private int handle;
    private long id;
    private long sectorNumber;
    private int discardFlag;
    private long discardNrSectors;
    private int segmentsLoaded;
    private int journalEntry = -1;

    /**
     * @param maxSegments the most segments a request may carry: 11, or the advertised indirect maximum.
     */
    public BlkifRequest(final int maxSegments)
    {
        final int capacity =
            Math.max(BLKIF_MAX_SEGMENTS_PER_REQUEST, Math.min(maxSegments, MAX_INDIRECT_SEGMENTS_LIMIT));
        segmentGref = new int[capacity];
        segmentFirst = new byte[capacity];
        segmentLast = new byte[capacity];
    }

    /**
     * Decodes a request from the private copy of a slot. Direct segments are loaded now; indirect segments are
     * loaded with {@link #loadIndirectSegments} once the indirect pages have been read.
     *
     * @param slot   the private copy.
     * @param offset where the request starts in it.
     * @param abi    the guest's layout.
     */
    public void decode(final DirectBuffer slot, final int offset, final BlkifAbi abi)
    {
        operation = slot.getByte(offset) & 0xFF;
        id = slot.getLong(offset + abi.idOffset(), LE);
        sectorNumber = slot.getLong(offset + abi.sectorNumberOffset(), LE);
        discardFlag = 0;
        discardNrSectors = 0;
        segmentsLoaded = 0;
        switch (operation)
        {
            case BLKIF_OP_READ, BLKIF_OP_WRITE, BLKIF_OP_WRITE_BARRIER, BLKIF_OP_FLUSH_DISKCACHE ->
            {
                ioOperation = operation;
                nrSegments = slot.getByte(offset + 1) & 0xFF;
                handle = slot.getShort(offset + 2, LE) & 0xFFFF;
                final int n = Math.min(nrSegments, BLKIF_MAX_SEGMENTS_PER_REQUEST);
                final int base = offset + abi.segmentsOffset();
                for (int i = 0; i < n; i++)
                {
                    loadSegment(slot, base + i * INDIRECT_SEGMENT_SIZE, i);
                }
                segmentsLoaded = n;
            }
            case BLKIF_OP_DISCARD ->
            {
                ioOperation = operation;
                nrSegments = 0;
                discardFlag = slot.getByte(offset + 1) & 0xFF;
                handle = slot.getShort(offset + 2, LE) & 0xFFFF;
                discardNrSectors = slot.getLong(offset + abi.discardNrSectorsOffset(), LE);
            }
            case BLKIF_OP_INDIRECT ->
            {
                ioOperation = slot.getByte(offset + 1) & 0xFF;
                nrSegments = slot.getShort(offset + 2, LE) & 0xFFFF;
                handle = slot.getShort(offset + abi.indirectHandleOffset(), LE) & 0xFFFF;
                for (int i = 0; i < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; i++)
                {
                    indirectGrefs[i] = slot.getInt(offset + abi.indirectGrefsOffset() + i * 4, LE);
                }
            }
            default ->
            {
                ioOperation = operation;
                nrSegments = 0;
                handle = 0;
            }
        }
    }

    /**
     * Loads segments of an indirect request from one indirect page (a private copy of it, or a mapping the guest
     * cannot change while it is read: each field is read once).
     *
     * @param page      the page.
     * @param offset    where the page starts in the buffer.
     * @param pageIndex which of the request's indirect pages it is.
     */
    public void loadIndirectSegments(final DirectBuffer page, final int offset, final int pageIndex)
    {
        final int first = pageIndex * SEGMENTS_PER_INDIRECT_PAGE;
        final int end = Math.min(Math.min(nrSegments, segmentGref.length), first + SEGMENTS_PER_INDIRECT_PAGE);
        for (int i = first; i < end; i++)
        {
            loadSegment(page, offset + (i - first) * INDIRECT_SEGMENT_SIZE, i);
        }
        segmentsLoaded = Math.max(segmentsLoaded, end);
    }

    private void loadSegment(final DirectBuffer buffer, final int at, final int i)
    {
        segmentGref[i] = buffer.getInt(at, LE);
        segmentFirst[i] = buffer.getByte(at + 4);
        segmentLast[i] = buffer.getByte(at + 5);
    }

    /**
     * @return the operation as written in the slot (BLKIF_OP_INDIRECT for indirect requests).
     */
    public int operation()
    {
        return operation;
    }

    /**
     * @return the operation to perform: the indirect_op of an indirect request, else the operation.
     */
    public int ioOperation()
    {
        return ioOperation;
    }

    /**
     * @return the segment count the guest wrote (u8 for direct requests, u16 for indirect).
     */
    public int nrSegments()
    {
        return nrSegments;
    }

    /**
     * @return segments loaded so far (at most {@link #nrSegments()} and the capacity).
     */
    public int segmentsLoaded()
    {
        return segmentsLoaded;
    }

    /**
     * @return the virtual device handle.
     */
    public int handle()
    {
        return handle;
    }

    /**
     * @param entry the ring journal's record of this request (-1 without a journal).
     */
    public void journalEntry(final int entry)
    {
        journalEntry = entry;
    }

    /**
     * @return the ring journal's record of this request, named when it is answered.
     */
    public int journalEntry()
    {
        return journalEntry;
    }

    /**
     * @return the guest's private id, echoed in the response.
     */
    public long id()
    {
        return id;
    }

    /**
     * @return the first 512-byte sector.
     */
    public long sectorNumber()
    {
        return sectorNumber;
    }

    /**
     * @return BLKIF_DISCARD_SECURE or 0, for a discard.
     */
    public int discardFlag()
    {
        return discardFlag;
    }

    /**
     * @return sectors to discard.
     */
    public long discardNrSectors()
    {
        return discardNrSectors;
    }

    /**
     * @return whether the request's segments live in indirect pages.
     */
    public boolean isIndirect()
    {
        return operation == BLKIF_OP_INDIRECT;
    }

    /**
     * @return indirect pages the request names: ceil(nr_segments / 512), not clamped.
     */
    public int indirectPageCount()
    {
        return BlkifConstants.indirectPages(nrSegments);
    }

    /**
     * @param i index below {@link BlkifConstants#BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST}.
     * @return the grant ref of indirect page {@code i}.
     */
    public int indirectGref(final int i)
    {
        return indirectGrefs[i];
    }

    /**
     * @param i segment index below {@link #segmentsLoaded()}.
     * @return its grant ref.
     */
    public int segmentGref(final int i)
    {
        return segmentGref[i];
    }

    /**
     * @param i segment index.
     * @return its first sector within the page (0..7 when valid).
     */
    public int segmentFirstSect(final int i)
    {
        return segmentFirst[i] & 0xFF;
    }

    /**
     * @param i segment index.
     * @return its last sector within the page, inclusive (first..7 when valid).
     */
    public int segmentLastSect(final int i)
    {
        return segmentLast[i] & 0xFF;
    }

    /**
     * @param i segment index.
     * @return byte offset of the segment's data within its page.
     */
    public int segmentOffset(final int i)
    {
        return segmentFirstSect(i) * BlkifConstants.SECTOR_SIZE;
    }

    /**
     * @param i segment index.
     * @return bytes the segment carries.
     */
    public int segmentLength(final int i)
    {
        return (segmentLastSect(i) - segmentFirstSect(i) + 1) * BlkifConstants.SECTOR_SIZE;
    }

    /**
     * @return 512-byte sectors the loaded segments carry in all (meaningful after validation).
     */
    public long totalSectors()
    {
        long sectors = 0;
        for (int i = 0; i < segmentsLoaded; i++)
        {
            sectors += segmentLastSect(i) - segmentFirstSect(i) + 1;
        }
        return sectors;
    }

    /**
     * Whether two reads or writes must not be in flight together: they touch a common sector and one of them
     * writes it. blkif orders nothing between requests in flight together, but blkback keeps ring order for such
     * pairs anyway (the later waits for the earlier).
     *
     * @param other another read or write (validated).
     * @return whether they conflict.
     */
    boolean conflicts(final BlkifRequest other)
    {
        final long start = sectorNumber;
        final long end = start + totalSectors();
        return (ioOperation == BLKIF_OP_WRITE || other.ioOperation == BLKIF_OP_WRITE) &&
            other.sectorNumber < end && start < other.sectorNumber + other.totalSectors();
    }

    /**
     * @return capacity of the segment arrays.
     */
    int segmentCapacity()
    {
        return segmentGref.length;
    }

    /**
     * @return sectors per page, the bound first_sect and last_sect must stay below.
     */
    static int sectorsPerPage()
    {
        return SECTORS_PER_PAGE;
    }
}
