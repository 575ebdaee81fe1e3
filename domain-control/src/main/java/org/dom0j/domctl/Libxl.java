package org.dom0j.domctl;

/**
 * Xen's toolstack library (libxl) for what {@code xl create} does: create a domain from a
 * {@code libxl_domain_config} JSON document (the one {@code xl create -n} prints), with its devices, and let it run.
 * <p>
 * <b>Errors</b>: {@link DomainControlException}; libxl's own messages go to standard error through its logger.
 * <p>
 * <b>Threads</b>: one thread at a time (a libxl context is used synchronously).
 */
public interface Libxl extends AutoCloseable
{
    /**
     * {@code libxl_domain_config_from_json} then {@code libxl_domain_create_new}, synchronously: the domain is built,
     * its devices are attached and their backends reached InitWait; it is left paused.
     *
     * @param domainConfigJson the {@code libxl_domain_config} JSON.
     * @return the new domain's id.
     */
    int createDomain(String domainConfigJson);

    /**
     * {@code libxl_domain_unpause}.
     *
     * @param domid the domain.
     */
    void unpause(int domid);

    /**
     * {@code libxl_domain_destroy}, synchronously, as {@code xl destroy}: each device is closed (its backend given
     * libxl's 10 s to reach Closed) and its hotplug script run, the domain destroyed, and libxl's xenstore entries
     * and stored configuration removed.
     *
     * @param domid the domain.
     */
    void destroy(int domid);

    /**
     * {@code libxl_domain_core_dump}, synchronously: the domain's memory and registers in an ELF core file, as
     * {@code xl dump-core} writes it.
     *
     * @param domid the domain.
     * @param file  the file to write.
     */
    void coreDump(int domid, String file);

    @Override
    void close();
}
