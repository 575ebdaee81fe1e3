package org.dom0j.cli;

import org.dom0j.common.Errno;
import org.dom0j.common.XenException;
import org.dom0j.domctl.DomainControlException;
import org.dom0j.toolstack.DomainBuilder;
import org.dom0j.xenstore.XenStore;

import java.util.regex.Pattern;

/**
 * What {@code pause}, {@code unpause}, {@code destroy} and {@code rename} do to a domain, as {@code xl} does it:
 * the hypervisor through {@code DomainControl}, the toolstack's part of xenstore directly.
 * <p>
 * Runs on the CLI's thread.
 */
final class DomainActions
{
    private static final Pattern VM_PATH = Pattern.compile("/vm/[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}");

    private DomainActions()
    {
    }

    static void pause(final DomainSession session, final DomainSession.Domain domain)
    {
        session.domctl().pause(domain.domid());
    }

    static void unpause(final DomainSession session, final DomainSession.Domain domain)
    {
        session.domctl().unpause(domain.domid());
    }

    /**
     * {@code xl destroy}. On Xen through libxl ({@code libxl_domain_destroy}, what xl calls): each device closed
     * with libxl's timeout and its hotplug script run, the domain destroyed, libxl's xenstore entries and stored
     * configuration removed. Where libxl cannot be loaded, and on the simulator: the domain goes at once, then what
     * the toolstack wrote for it in xenstore (its backend directories here, {@code /local/domain/<domid>},
     * {@code /vm/<uuid>}, {@code /libxl/<domid>}); on the simulator the domain is also RELEASEd, which C xenstored
     * does by itself on Xen when the hypervisor reports the domain gone.
     */
    static void destroy(final DomainSession session, final DomainSession.Domain domain)
    {
        if (!session.isSimulator())
        {
            final DomainBuilder libxl;
            try
            {
                libxl = session.platform().openDomainBuilder(0);
            }
            catch (final RuntimeException ex)
            {
                destroyDirectly(session, domain);
                return;
            }
            try (DomainBuilder builder = libxl)
            {
                builder.destroy(domain.domid());
                return;
            }
            catch (final UnsupportedOperationException ex)
            {
                // Not libxl: destroyed below.
            }
        }
        destroyDirectly(session, domain);
    }

    private static void destroyDirectly(final DomainSession session, final DomainSession.Domain domain)
    {
        final int domid = domain.domid();
        final XenStore xs = session.xenStore();
        final String vm = xs.readOrNull("/local/domain/" + domid + "/vm");
        session.domctl().destroy(domid);
        if (session.isSimulator())
        {
            try
            {
                xs.releaseDomain(domid);
            }
            catch (final XenException ex)
            {
                // Not introduced (a domain made without the toolstack): nothing to release.
            }
        }
        final String backends = "/local/domain/" + session.platform().localDomid() + "/backend";
        if (xs.exists(backends))
        {
            for (final String type : xs.directory(backends))
            {
                xs.rm(backends + "/" + type + "/" + domid);
            }
        }
        xs.rm("/local/domain/" + domid);
        xs.rm("/libxl/" + domid);
        if (null != vm && VM_PATH.matcher(vm).matches())
        {
            xs.rm(vm);
        }
    }

    /**
     * {@code xl rename}: {@code /local/domain/<domid>/name} and {@code /vm/<uuid>/name} (when the domain has one) in
     * one transaction that also checks that no other domain has the name.
     *
     * @throws DomainControlException EINVAL for domain 0 or a name that cannot be one, EEXIST for a name in use.
     */
    static void rename(final DomainSession session, final DomainSession.Domain domain, final String newName)
    {
        final int domid = domain.domid();
        if (domid == 0 || domid == session.platform().localDomid())
        {
            throw new DomainControlException(Errno.EINVAL.number(), "rename domain " + domid + ": domain 0 keeps " +
                "its name");
        }
        final String why = DomainSession.whyInvalidName(newName);
        if (null != why)
        {
            throw new DomainControlException(Errno.EINVAL.number(), "rename domain " + domid + ": " + why);
        }
        final var others = session.domains();
        final XenStore xs = session.xenStore();
        xs.transaction(tx ->
        {
            for (final DomainSession.Domain other : others)
            {
                if (other.domid() != domid &&
                    newName.equals(tx.readOrNull("/local/domain/" + other.domid() + "/name")))
                {
                    throw new DomainControlException(Errno.EEXIST.number(), "rename domain " + domid + ": domain " +
                        other.domid() + " is already named '" + newName + "'");
                }
            }
            final String path = "/local/domain/" + domid;
            if (!tx.exists(path))
            {
                throw new DomainControlException(Errno.ESRCH.number(), "rename domain " + domid + ": it has no " +
                    path + " in xenstore");
            }
            tx.write(path + "/name", newName);
            final String vm = tx.readOrNull(path + "/vm");
            if (null != vm && VM_PATH.matcher(vm).matches() && tx.exists(vm))
            {
                tx.write(vm + "/name", newName);
            }
            return null;
        });
    }
}
