package org.dom0j.toolstack;

import org.dom0j.backend.XenbusState;
import org.dom0j.xenstore.XenStore;
import org.dom0j.xenstore.XsPermission;

import java.util.List;
import java.util.Map;

/**
 * What a toolstack writes into xenstore to give a guest a device, as libxl does (libxl_device.c): a backend
 * directory {@code /local/domain/<backend>/backend/<type>/<domid>/<devid>} owned by the backend domain and
 * readable by the guest, and a frontend directory {@code /local/domain/<domid>/device/<type>/<devid>} owned by
 * the guest and readable by the backend, each pointing at the other, both in state Initialising (1). The backend
 * then notices the new directory and takes over.
 * <p>
 * Any thread; each call is one xenstore transaction.
 */
public final class XenbusDevices
{
    /** What a device type's name may be, in words for an operator's error message. */
    public static final String TYPE_NAME_RULE = "1-32 of a-z, 0-9 and '-', starting with a letter";
    /** A device type's name: one xenstore path element of 1-32 of a-z, 0-9 and '-', starting with a letter. */
    private static final String TYPE_NAME = "[a-z][a-z0-9-]{0,31}";

    private XenbusDevices()
    {
    }

    /**
     * @param backendDomid the backend domain.
     * @param type         device type, e.g. "vbd".
     * @param domid        the guest.
     * @param devid        device id, e.g. "51712".
     * @return the backend directory.
     */
    public static String backendPath(final int backendDomid, final String type, final int domid, final String devid)
    {
        return "/local/domain/" + backendDomid + "/backend/" + type + "/" + domid + "/" + devid;
    }

    /**
     * @param name a candidate device type name ({@code vbd}, {@code qdisk}, what {@code serve --blk-type} names).
     * @return whether it is 1-32 of a-z, 0-9 and '-', starting with a letter (one xenstore path element, and a
     *         thread name's prefix).
     */
    public static boolean isTypeName(final String name)
    {
        return null != name && name.matches(TYPE_NAME);
    }

    /**
     * Where a guest's device is served: the backend directory its frontend names ({@code backend}), when that is a
     * directory of this device in domain 0 under any device type's name ({@code backend/vbd}, {@code backend/qdisk},
     * or the name a {@code dom0j serve --blk-type} serves) whose own {@code frontend} names this frontend, else
     * {@link #backendPath} for the frontend's own type. The guest owns its frontend directory and could write any
     * {@code backend}; the backend directory is the toolstack's, so the two must name each other, as xenbus has them.
     *
     * @param xs    a privileged connection.
     * @param type  the frontend's device type ("vbd", "vif").
     * @param domid the guest.
     * @param devid device id.
     * @return the backend directory.
     */
    public static String backendOf(final XenStore xs, final String type, final int domid, final String devid)
    {
        final String fe = frontendPath(domid, type, devid);
        final String named = xs.readOrNull(fe + "/backend");
        if (null != named && named.matches("/local/domain/0/backend/" + TYPE_NAME + "/" + domid + "/" +
            java.util.regex.Pattern.quote(devid)) && fe.equals(xs.readOrNull(named + "/frontend")))
        {
            return named;
        }
        return backendPath(0, type, domid, devid);
    }

    /**
     * @param domid the guest.
     * @param type  device type.
     * @param devid device id.
     * @return the frontend directory.
     */
    public static String frontendPath(final int domid, final String type, final String devid)
    {
        return "/local/domain/" + domid + "/device/" + type + "/" + devid;
    }

    /**
     * Creates both directories in one transaction.
     *
     * @param xs           a privileged (dom0) connection.
     * @param backendDomid the backend domain.
     * @param type         device type.
     * @param domid        the guest.
     * @param devid        device id.
     * @param backendKeys  keys of the backend directory besides frontend, frontend-id, online and state.
     * @param frontendKeys keys of the frontend directory besides backend, backend-id and state.
     */
    public static void attach(
        final XenStore xs,
        final int backendDomid,
        final String type,
        final int domid,
        final String devid,
        final Map<String, String> backendKeys,
        final Map<String, String> frontendKeys)
    {
        attach(xs, backendDomid, type, type, domid, devid, backendKeys, frontendKeys);
    }

    /**
     * {@link #attach(XenStore, int, String, int, String, Map, Map)} with the backend directory under a type name of
     * its own: a disk's frontend is {@code device/vbd/<devid>} whoever serves it, its backend {@code backend/vbd}
     * for Linux's blkback, {@code backend/qdisk} for QEMU's, or the name a {@code dom0j serve --blk-type} serves.
     *
     * @param xs           a privileged (dom0) connection.
     * @param backendDomid the backend domain.
     * @param backendType  the backend directory's device type.
     * @param frontendType the frontend directory's device type.
     * @param domid        the guest.
     * @param devid        device id.
     * @param backendKeys  keys of the backend directory besides frontend, frontend-id, online and state.
     * @param frontendKeys keys of the frontend directory besides backend, backend-id and state.
     */
    public static void attach(
        final XenStore xs,
        final int backendDomid,
        final String backendType,
        final String frontendType,
        final int domid,
        final String devid,
        final Map<String, String> backendKeys,
        final Map<String, String> frontendKeys)
    {
        final String be = backendPath(backendDomid, backendType, domid, devid);
        final String fe = frontendPath(domid, frontendType, devid);
        final List<XsPermission> bePerms = List.of(
            new XsPermission(XsPermission.Access.NONE, backendDomid),
            new XsPermission(XsPermission.Access.READ, domid));
        final List<XsPermission> fePerms = List.of(
            new XsPermission(XsPermission.Access.NONE, domid),
            new XsPermission(XsPermission.Access.READ, backendDomid));
        xs.transaction(tx ->
        {
            tx.rm(be);
            tx.rm(fe);
            tx.mkdir(be);
            tx.setPermissions(be, bePerms);
            tx.write(be + "/frontend", fe);
            tx.write(be + "/frontend-id", Integer.toString(domid));
            tx.write(be + "/online", "1");
            tx.write(be + "/state", "1");
            backendKeys.forEach((k, v) -> tx.write(be + "/" + k, v));
            tx.mkdir(fe);
            tx.setPermissions(fe, fePerms);
            tx.write(fe + "/backend", be);
            tx.write(fe + "/backend-id", Integer.toString(backendDomid));
            tx.write(fe + "/state", "1");
            frontendKeys.forEach((k, v) -> tx.write(fe + "/" + k, v));
            return null;
        });
    }

    /**
     * Asks for a device to go away the way {@code xl block-detach} does: {@code online} 0 and state Closing (5)
     * in the backend directory; the backend closes, and {@link #remove} then deletes both directories.
     *
     * @param xs           a privileged connection.
     * @param backendDomid the backend domain.
     * @param type         device type.
     * @param domid        the guest.
     * @param devid        device id.
     */
    public static void requestDetach(
        final XenStore xs, final int backendDomid, final String type, final int domid, final String devid)
    {
        requestDetach(xs, backendPath(backendDomid, type, domid, devid));
    }

    /**
     * {@link #requestDetach(XenStore, int, String, int, String)} of the backend directory given.
     *
     * @param xs a privileged connection.
     * @param be the backend directory.
     */
    public static void requestDetach(final XenStore xs, final String be)
    {
        xs.transaction(tx ->
        {
            final String state = tx.readOrNull(be + "/state");
            if (null != state)
            {
                tx.write(be + "/online", "0");
                // A backend already Closed (its frontend went away) stays so, as libxl leaves it: written Closing
                // again, it would never answer, and whoever waits for Closed would wait in vain.
                if (!XenbusState.CLOSED.wireValue().equals(state))
                {
                    tx.write(be + "/state", "5");
                }
            }
            return null;
        });
    }

    /**
     * Deletes both directories.
     *
     * @param xs           a privileged connection.
     * @param backendDomid the backend domain.
     * @param type         device type.
     * @param domid        the guest.
     * @param devid        device id.
     */
    public static void remove(
        final XenStore xs, final int backendDomid, final String type, final int domid, final String devid)
    {
        remove(xs, backendPath(backendDomid, type, domid, devid), frontendPath(domid, type, devid));
    }

    /**
     * Deletes both directories, given.
     *
     * @param xs a privileged connection.
     * @param be the backend directory.
     * @param fe the frontend directory.
     */
    public static void remove(final XenStore xs, final String be, final String fe)
    {
        xs.transaction(tx ->
        {
            tx.rm(be);
            tx.rm(fe);
            return null;
        });
    }
}
