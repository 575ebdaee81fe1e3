package org.dom0j.nbd;

/**
 * Told of each request's end by {@link NbdConnection#pollCompletions} and {@link NbdConnection#awaitCompletion}, on
 * the thread that called them.
 */
@FunctionalInterface
public interface NbdCompletionHandler
{
    /**
     * One request is complete: its memory is the caller's again. A read's memory holds the data only when
     * {@code errno} is 0; after an error it may hold some of the data, or none.
     * <p>
     * The handler may submit new requests; it must not poll, await, reconnect or close the connection.
     *
     * @param cookie the cookie given when the request was submitted.
     * @param errno  0 on success, else one of {@link NbdConstants#EPERM}, {@link NbdConstants#EIO},
     *               {@link NbdConstants#ENOMEM}, {@link NbdConstants#EINVAL}, {@link NbdConstants#ENOSPC},
     *               {@link NbdConstants#EOVERFLOW}, {@link NbdConstants#ENOTSUP}, {@link NbdConstants#ESHUTDOWN}.
     */
    void onCompletion(long cookie, int errno);
}
