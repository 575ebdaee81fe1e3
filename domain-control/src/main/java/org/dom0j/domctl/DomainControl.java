package org.dom0j.domctl;

import java.util.List;

/**
 * Privileged control of domains (libxenctrl): list them and change their run state. Names are not part of the
 * hypervisor's view; callers take them from xenstore.
 * <p>
 * <b>Errors</b>: {@link DomainControlException} with errno (ESRCH for a domain that does not exist, EPERM when
 * this process is not privileged).
 * <p>
 * <b>Threads</b>: any thread.
 */
public interface DomainControl extends AutoCloseable
{
    /**
     * @return every domain, ordered by domid.
     */
    List<DomainInfo> list();

    /**
     * @param domid the domain.
     * @return its info.
     */
    DomainInfo info(int domid);

    /**
     * @param domid the domain to pause.
     */
    void pause(int domid);

    /**
     * @param domid the domain to unpause.
     */
    void unpause(int domid);

    /**
     * @param domid the domain to destroy.
     */
    void destroy(int domid);

    @Override
    void close();
}
