package org.dom0j.platform;

/**
 * Makes one kind of {@link XenPlatform}; found with {@link java.util.ServiceLoader} (listed in
 * {@code META-INF/services/org.dom0j.platform.XenPlatformProvider}).
 * <p>
 * Probing must be cheap, must not fail, and must not leave anything open.
 */
public interface XenPlatformProvider
{
    /**
     * @return the name given to {@code --platform}: "xen" or "sim".
     */
    String name();

    /**
     * @return higher wins when {@code auto} chooses among available platforms.
     */
    int priority();

    /**
     * @param environment what to look at.
     * @return whether this platform can run there, and why.
     */
    Availability probe(PlatformEnvironment environment);

    /**
     * @param environment what to look at.
     * @return the platform, ready to open handles.
     * @throws PlatformUnavailableException when it cannot run there.
     */
    XenPlatform open(PlatformEnvironment environment);
}
