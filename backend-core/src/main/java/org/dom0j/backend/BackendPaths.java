package org.dom0j.backend;

/**
 * What a backend's xenstore paths may name, as the {@link BackendConductor} checks them before it acts on one: a
 * domid below {@code DOMID_FIRST_RESERVED}, a device id of ASCII letters, digits, '-' and '_', and a frontend path
 * that is a device directory of the frontend's own domain. Everything here may have been written by a guest or a
 * toolstack that made a mistake; a name that fails is ignored, a frontend path that fails fails the device.
 * <p>
 * Stateless; any thread.
 */
final class BackendPaths
{
    /** DOMID_FIRST_RESERVED: domids from here up are Xen's own (DOMID_SELF, DOMID_IO...), never a guest's. */
    static final int DOMID_FIRST_RESERVED = 0x7FF0;
    /** The longest path the conductor acts on. */
    static final int MAX_PATH_LENGTH = 256;
    /** The longest device id. */
    private static final int MAX_DEVID_LENGTH = 64;

    private BackendPaths()
    {
    }

    /**
     * @param text a path component.
     * @return whether it is a guest's domid in decimal.
     */
    static boolean isDomid(final String text)
    {
        try
        {
            final long domid = XenbusValues.parseUnsigned("domid", text, 0, DOMID_FIRST_RESERVED - 1);
            return domid >= 0;
        }
        catch (final InvalidFrontendException ex)
        {
            return false;
        }
    }

    /**
     * @param text a path component.
     * @return whether it is a device id.
     */
    static boolean isDevid(final String text)
    {
        if (text.isEmpty() || text.length() > MAX_DEVID_LENGTH)
        {
            return false;
        }
        for (int i = 0; i < text.length(); i++)
        {
            final char c = text.charAt(i);
            if (!(Character.isLetterOrDigit(c) && c < 0x80) && c != '-' && c != '_')
            {
                return false;
            }
        }
        return true;
    }

    /**
     * @param frontendId   the backend's {@code frontend-id}.
     * @param frontendPath the backend's {@code frontend}, or null.
     * @return whether it is a device directory of that domain (no "/.", no trailing '/', not too long).
     */
    static boolean isFrontendPath(final long frontendId, final String frontendPath)
    {
        return null != frontendPath && frontendPath.startsWith("/local/domain/" + frontendId + "/device/") &&
            frontendPath.length() <= MAX_PATH_LENGTH && !frontendPath.contains("/.") && !frontendPath.endsWith("/");
    }
}
