package org.dom0j.blkback;

import java.util.logging.Logger;

/**
 * What went wrong serving a queue's requests, for its log and its tests: the disk's errors become
 * {@link RequestVerdict#IO_ERROR} and are logged (once while they repeat), a failed grant operation is noted. The
 * request's own answer and counters are the {@link Responder}'s business.
 * <p>
 * Not thread safe: the queue's agent only.
 */
final class QueueErrors
{
    private static final Logger LOG = Logger.getLogger(QueueErrors.class.getName());

    private final String roleName;
    private String last;

    /**
     * @param roleName the queue's name, which every line logged starts with.
     */
    QueueErrors(final String roleName)
    {
        this.roleName = roleName;
    }

    /**
     * The backing store failed: logged, unless it is the same failure as last time.
     *
     * @param message what failed.
     * @return {@link RequestVerdict#IO_ERROR}.
     */
    RequestVerdict ioError(final String message)
    {
        if (!message.equals(last))
        {
            LOG.warning(() -> roleName + ": " + message);
        }
        last = message;
        return RequestVerdict.IO_ERROR;
    }

    /**
     * A grant operation failed as a whole (the caller decides what that means for its requests).
     *
     * @param message what the grant device said.
     */
    void note(final String message)
    {
        last = message;
    }

    /**
     * @return the last error met, or null.
     */
    String last()
    {
        return last;
    }
}
