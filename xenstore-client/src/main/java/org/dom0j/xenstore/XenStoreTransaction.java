package org.dom0j.xenstore;

import java.util.List;

/**
 * The operations allowed inside one xenstore transaction. Valid only inside the body passed to
 * {@link XenStore#transaction}; the thread that runs the body uses it.
 */
public interface XenStoreTransaction
{
    /**
     * @param path the node.
     * @return its value, or null when it does not exist.
     */
    String readOrNull(String path);

    /**
     * @param path the node.
     * @return its value as bytes, or null when it does not exist.
     */
    byte[] readBytesOrNull(String path);

    /**
     * @param path the node.
     * @return whether it exists.
     */
    boolean exists(String path);

    /**
     * @param path the node.
     * @return its permissions, owner entry first.
     */
    List<XsPermission> getPermissions(String path);

    /**
     * @param path  the node.
     * @param value its new value.
     */
    void write(String path, String value);

    /**
     * @param path  the node.
     * @param value its new value's bytes.
     */
    void write(String path, byte[] value);

    /**
     * @param path the node to create.
     */
    void mkdir(String path);

    /**
     * @param path the node to remove with its children.
     */
    void rm(String path);

    /**
     * @param path the parent.
     * @return its children's names.
     */
    List<String> directory(String path);

    /**
     * @param path        the node.
     * @param permissions owner entry first.
     */
    void setPermissions(String path, List<XsPermission> permissions);
}
