package org.dom0j.backend;

import org.dom0j.platform.PlatformFeature;
import org.dom0j.xenstore.XenStore;
import org.dom0j.xenstore.XsWatch;
import org.dom0j.xenstore.XsWatchListener;

import java.util.Set;

/**
 * What a {@link DeviceType} knows about one device: who the frontend is, where both directories are, what the
 * platform supports, and a checked reader of the frontend's values. Given by the conductor.
 * <p>
 * Use from the conductor's thread only (its xenstore connection is the conductor's); ring agents get what they need
 * through {@link ConnectedQueue}.
 */
public final class DeviceContext
{
    private final String type;
    private final int frontendDomid;
    private final String devid;
    private final String backendPath;
    private final String frontendPath;
    private final Set<PlatformFeature> features;
    private final XenStore xenStore;
    private final XenbusValues values;

    DeviceContext(
        final String type,
        final int frontendDomid,
        final String devid,
        final String backendPath,
        final String frontendPath,
        final Set<PlatformFeature> features,
        final XenStore xenStore)
    {
        this.type = type;
        this.frontendDomid = frontendDomid;
        this.devid = devid;
        this.backendPath = backendPath;
        this.frontendPath = frontendPath;
        this.features = features;
        this.xenStore = xenStore;
        this.values = new XenbusValues(xenStore::readOrNull);
    }

    /**
     * @return the device type's xenstore name, e.g. "vbd".
     */
    public String type()
    {
        return type;
    }

    /**
     * @return the frontend's domain.
     */
    public int frontendDomid()
    {
        return frontendDomid;
    }

    /**
     * @return the device id (the last element of the backend path), e.g. "51712".
     */
    public String devid()
    {
        return devid;
    }

    /**
     * @return e.g. "/local/domain/0/backend/vbd/5/51712".
     */
    public String backendPath()
    {
        return backendPath;
    }

    /**
     * @return e.g. "/local/domain/5/device/vbd/51712" (checked to lie in the frontend's domain).
     */
    public String frontendPath()
    {
        return frontendPath;
    }

    /**
     * @return what the platform supports; advertise only features that need nothing else.
     */
    public Set<PlatformFeature> features()
    {
        return features;
    }

    /**
     * @return a bounds-checking reader of xenstore values.
     */
    public XenbusValues values()
    {
        return values;
    }

    /**
     * @param key a node below the backend directory, written by the toolstack (e.g. "params").
     * @return its value, or null.
     */
    public String readBackend(final String key)
    {
        return xenStore.readOrNull(backendPath + "/" + key);
    }

    /**
     * @param key   a node below the backend directory.
     * @param value its new value.
     */
    public void writeBackend(final String key, final String value)
    {
        xenStore.write(backendPath + "/" + key, value);
    }

    /**
     * Watches one node (a frontend's {@code request-multicast-control}, the toolstack's {@code rate}) for a value
     * that may change while the device is connected. xenstored fires once at once. The listener runs on the xenstore
     * client's watch thread: it may read xenstore, and must hand anything else to the agents through state they
     * read (a volatile field). The device type closes the watch (in {@link DeviceType#disconnect}).
     *
     * @param path     the node, absolute.
     * @param listener called with the path on each change.
     * @return the watch.
     */
    public XsWatch watch(final String path, final XsWatchListener listener)
    {
        return xenStore.watch(path, "dom0j-device:" + backendPath + ":" + path, 0, listener);
    }

    /**
     * @return "type domid/devid", for logs and counter labels.
     */
    @Override
    public String toString()
    {
        return type + " " + frontendDomid + "/" + devid;
    }
}
