package org.dom0j.xenstore;

/**
 * A watch set with {@link XenStore#watch}. Closing it sends UNWATCH; closing twice is harmless.
 */
public interface XsWatch extends AutoCloseable
{
    /**
     * @return the watched path.
     */
    String path();

    /**
     * @return the token given when the watch was set.
     */
    String token();

    @Override
    void close();
}
