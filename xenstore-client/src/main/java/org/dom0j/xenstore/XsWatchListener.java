package org.dom0j.xenstore;

/**
 * Receives watch events on the connection's watch thread, in the order xenstored sent them.
 */
@FunctionalInterface
public interface XsWatchListener
{
    /**
     * @param path  the path that changed (at or below the watched path), or the special path.
     * @param token the watch's token.
     */
    void onWatchEvent(String path, String token);
}
