package org.dom0j.toolstack;

import org.dom0j.domctl.Libxl;
import org.dom0j.toolstack.xl.LibxlJson;
import org.dom0j.toolstack.xl.XlConfig;

import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * Creating domains on real Xen through libxl, as {@code xl create} does: the config becomes the
 * {@code libxl_domain_config} JSON that {@code xl create -n} prints ({@link LibxlJson}), which libxl reads and
 * builds; libxl checks everything else (the kernel's format, memory, the host's limits) and says why in its log.
 * <p>
 * Threads: one at a time.
 */
public final class LibxlDomainBuilder implements DomainBuilder
{
    private final Libxl libxl;

    /**
     * @param libxl an open libxl context; closed with this builder.
     */
    public LibxlDomainBuilder(final Libxl libxl)
    {
        this.libxl = libxl;
    }

    @Override
    public void check(final XlConfig config, final Consumer<String> notes)
    {
        // libxl takes every setting XlConfig reads.
    }

    @Override
    public int create(final XlConfig config, final String uuid)
    {
        return libxl.createDomain(LibxlJson.domainConfig(config, uuid));
    }

    @Override
    public void unpause(final int domid)
    {
        libxl.unpause(domid);
    }

    @Override
    public void destroy(final int domid)
    {
        libxl.destroy(domid);
    }

    @Override
    public void coreDump(final int domid, final Path file)
    {
        libxl.coreDump(domid, file.toString());
    }

    @Override
    public void close()
    {
        libxl.close();
    }
}
