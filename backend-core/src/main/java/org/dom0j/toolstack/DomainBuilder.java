package org.dom0j.toolstack;

import org.dom0j.toolstack.xl.XlConfig;
import org.dom0j.toolstack.xl.XlConfigException;

import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * What {@code xl create} does, on a platform: create a domain as an xl config describes it, with its disks, network
 * interfaces and console, leave it paused, and let it run. On real Xen this is libxl ({@code LibxlDomainBuilder});
 * on the simulator, the simulated host's own toolstack.
 * <p>
 * Threads: one at a time.
 */
public interface DomainBuilder extends AutoCloseable
{
    /**
     * Refuses what this platform cannot create (an {@link XlConfigException} naming the line) and tells
     * {@code notes} what it will not use, before anything is created.
     *
     * @param config the config.
     * @param notes  told about settings this platform accepts but does not use.
     */
    void check(XlConfig config, Consumer<String> notes);

    /**
     * Creates the domain with its devices, paused; the devices' backends have reached InitWait.
     *
     * @param config the config (already {@link #check checked}).
     * @param uuid   its UUID.
     * @return the new domain's id.
     */
    int create(XlConfig config, String uuid);

    /**
     * Lets the created domain run.
     *
     * @param domid the domain.
     */
    void unpause(int domid);

    /**
     * Destroys a domain this platform's toolstack built, as {@code xl destroy} does (devices closed, the domain
     * destroyed, the toolstack's entries and stored configuration removed); a platform whose toolstack keeps
     * nothing more than xenstore refuses, and the caller destroys the domain itself.
     *
     * @param domid the domain.
     * @throws UnsupportedOperationException when this platform leaves that to the caller.
     */
    default void destroy(final int domid)
    {
        throw new UnsupportedOperationException("this platform's toolstack keeps nothing more than xenstore");
    }

    /**
     * Dumps a domain's core to a file, as {@code xl dump-core} does; a platform without cores refuses.
     *
     * @param domid the domain.
     * @param file  the file.
     * @throws UnsupportedOperationException when this platform has no core to dump.
     */
    default void coreDump(final int domid, final Path file)
    {
        throw new UnsupportedOperationException("this platform has no core to dump");
    }

    @Override
    void close();
}
