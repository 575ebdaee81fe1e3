package org.dom0j.blkback;

/**
 * How a queue moves the data of reads and writes between the guest's pages and the disk, and passes flushes and
 * discards on to it, chosen once when the queue connects, by the disk's {@link Storage} and the {@link DataPath}: for
 * a file {@link CopyPath} (grant copy through bounce pages or the mapped page cache, reads and writes of a pass
 * batched, large ones streamed through io_uring) or {@link MapPath} (the guest's pages mapped, one request at a
 * time, persistent grants kept); for an NBD export {@link NbdPath} (grant copy through bounce pages, a pass's
 * requests in flight together on the queue's connection).
 * <p>
 * A path answers what it serves through the queue's {@link Responder}; everything else (taking requests, the order
 * of flush, barrier and discard, pushing) is the {@link BlkbackQueue}'s.
 * <p>
 * Not thread safe: the queue's agent only. No method allocates.
 */
interface ReadWritePath
{
    /**
     * Takes a read or write: serves and answers it now, or keeps it to serve with others (then it is answered by
     * {@link #serveTaken}, {@link #drain} or on its own when it completes).
     *
     * @param r       the request, decoded.
     * @param verdict what validation decided: OK, or the error to answer it with (in its turn).
     * @return the request object to decode the next request into: {@code r} when it is done with, else a free one
     *         given in exchange.
     */
    BlkifRequest readOrWrite(BlkifRequest r, RequestVerdict verdict);

    /**
     * End of a bite off the ring: serves and answers what was kept; what is in flight on its own may stay.
     */
    void serveTaken();

    /**
     * Before an operation that must find every earlier one complete (flush, barrier, discard): serves and answers
     * everything taken, in flight or not.
     */
    void drain();

    /**
     * Moves one request's data alone, once the path is drained: a flush's or barrier's data.
     *
     * @param r     the request.
     * @param write true to write the disk.
     * @return what it came to.
     */
    RequestVerdict transferAlone(BlkifRequest r, boolean write);

    /**
     * Makes every write answered so far durable (a flush, a barrier's flushes), once the path is drained.
     *
     * @return what it came to.
     */
    RequestVerdict flush();

    /**
     * Discards a validated discard's range, once the path is drained.
     *
     * @param r the discard.
     * @return what it came to.
     */
    RequestVerdict discard(BlkifRequest r);

    /**
     * Start of a pass: its duties (the copy path renews the page-cache mapping when due), and answering what
     * completed on its own since the last one.
     *
     * @return how many were answered (work done).
     */
    int startPass();

    /**
     * End of a pass: its duties (the map path purges unused persistent grants), and when the pass found nothing to
     * take but requests are in flight, waiting for one of them (no event would wake the queue for it).
     *
     * @param idle whether the pass did nothing else.
     * @param now  {@link System#nanoTime()}'s clock, perhaps as of its last tick (the idle strategy's coarse reading).
     * @return work done.
     */
    int endPass(boolean idle, long now);

    /**
     * @param now {@link System#nanoTime()}'s clock, perhaps as of its last tick (the idle strategy's coarse reading).
     * @return how long the queue may sleep as far as this path is concerned: {@link Long#MAX_VALUE} with nothing due,
     *         a negative value when it must not sleep on its event channel (requests in flight that no event
     *         announces).
     */
    long idleWaitNanos(long now);

    /**
     * @return how this path reads and writes the disk.
     */
    IoEngine ioEngine();

    /**
     * The queue is closing (its answers are already off): lets what is in flight finish, then frees what the path
     * holds.
     */
    void close();
}
