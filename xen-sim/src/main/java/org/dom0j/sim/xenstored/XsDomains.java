package org.dom0j.sim.xenstored;

import org.dom0j.common.Errno;
import org.dom0j.xenstore.XsPaths;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;
import java.util.function.IntFunction;
import java.util.logging.Level;
import java.util.logging.Logger;

import static org.dom0j.sim.xenstored.SimXenstored.OK;
import static org.dom0j.sim.xenstored.XsArgs.domid;
import static org.dom0j.sim.xenstored.XsArgs.number;
import static org.dom0j.sim.xenstored.XsArgs.strings;

/**
 * The domains {@link SimXenstored} knows: INTRODUCE (which opens the domain's own socket, where every connection
 * is that domain, and fires "@introduceDomain"), RELEASE (which closes it and every connection made through it,
 * and fires "@releaseDomain"), RESUME, SET_TARGET, CONTROL and GET/SET_FEATURE. Also keeps which domain is marked
 * shut down (C learns it from VIRQ_DOM_EXC, and fires "@releaseDomain") and which is SET_TARGET controller of
 * which.
 * <p>
 * Confined to the server thread.
 */
final class XsDomains
{
    private static final Logger LOG = Logger.getLogger(SimXenstored.class.getName());

    private final Map<Integer, Domain> domains = new HashMap<>();
    private final SimXenstoredConfig config;
    private final Selector selector;
    private final IntFunction<Path> socketPath;
    private final IntConsumer dropConnections;
    private final XsWatches watches;
    private final DomainAccounting accounting;

    /**
     * @param config          the server's features.
     * @param selector        where a domain's socket is registered, its attachment the domid.
     * @param socketPath      where a domain's socket is made.
     * @param dropConnections closes the connections of a domain (at RELEASE).
     * @param watches         fires "@introduceDomain" and "@releaseDomain".
     * @param accounting      forgets a released domain's quotas.
     */
    XsDomains(final SimXenstoredConfig config, final Selector selector, final IntFunction<Path> socketPath,
        final IntConsumer dropConnections, final XsWatches watches, final DomainAccounting accounting)
    {
        this.config = config;
        this.selector = selector;
        this.socketPath = socketPath;
        this.dropConnections = dropConnections;
        this.watches = watches;
        this.accounting = accounting;
    }

    boolean isIntroduced(final int domid)
    {
        return domains.containsKey(domid);
    }

    /**
     * @param domid a domain.
     * @return whether it is introduced and marked shut down.
     */
    boolean isShutDown(final int domid)
    {
        final Domain d = domains.get(domid);
        return null != d && d.shutdown;
    }

    /**
     * @param domid a domain.
     * @return the domain it is SET_TARGET controller of, or null.
     */
    Integer target(final int domid)
    {
        final Domain d = domains.get(domid);
        return null == d ? null : d.target;
    }

    /**
     * Closes every domain's socket (the server is stopping).
     */
    void closeListeners()
    {
        for (final Domain d : domains.values())
        {
            d.closeListener();
        }
    }

    byte[] doIntroduce(final byte[] payload)
    {
        final List<String> args = strings(payload);
        if (args.size() < 3)
        {
            throw new XsError(Errno.EINVAL);
        }
        final int domid = domid(args.get(0));
        final long mfn;
        final int port;
        try
        {
            mfn = Long.parseUnsignedLong(args.get(1));
            port = Integer.parseInt(args.get(2));
        }
        catch (final NumberFormatException ex)
        {
            throw new XsError(Errno.EINVAL);
        }
        if (domid == 0)
        {
            throw new XsError(Errno.EINVAL);
        }
        final Domain existing = domains.get(domid);
        if (null != existing)
        {
            if (existing.mfn != mfn || existing.port != port)
            {
                throw new XsError(Errno.EEXIST);
            }
            return OK;
        }
        final Domain d = new Domain(domid, mfn, port);
        try
        {
            d.listener = SimXenstored.listen(socketPath.apply(domid));
            d.listener.register(selector, SelectionKey.OP_ACCEPT, domid);
        }
        catch (final IOException ex)
        {
            LOG.log(Level.WARNING, "cannot make socket for domain " + domid, ex);
            throw new XsError(Errno.EIO);
        }
        domains.put(domid, d);
        watches.fireSpecial(XsPaths.INTRODUCE_DOMAIN);
        return OK;
    }

    byte[] doRelease(final int domid)
    {
        if (domid == 0)
        {
            throw new XsError(Errno.EINVAL);
        }
        final Domain d = domains.remove(domid);
        if (null == d)
        {
            throw new XsError(Errno.ENOENT);
        }
        d.closeListener();
        dropConnections.accept(domid);
        for (final Domain other : domains.values())
        {
            if (null != other.target && other.target == domid)
            {
                other.target = null;
            }
        }
        accounting.forget(domid);
        watches.fireSpecial(XsPaths.RELEASE_DOMAIN);
        return OK;
    }

    /**
     * What C xenstored does when the hypervisor reports that a domain shut down (VIRQ_DOM_EXC): marks it shut
     * down and fires "@releaseDomain", once. RESUME clears the mark.
     *
     * @param domid the domain.
     * @throws XsError ENOENT when it was not introduced.
     */
    void markShutDown(final int domid)
    {
        final Domain d = domains.get(domid);
        if (null == d)
        {
            throw new XsError(Errno.ENOENT);
        }
        if (!d.shutdown)
        {
            d.shutdown = true;
            watches.fireSpecial(XsPaths.RELEASE_DOMAIN);
        }
    }

    byte[] doResume(final int domid)
    {
        final Domain d = domains.get(domid);
        if (null == d)
        {
            throw new XsError(Errno.ENOENT);
        }
        d.shutdown = false;
        return OK;
    }

    byte[] doSetTarget(final byte[] payload)
    {
        final List<String> args = strings(payload);
        if (args.size() < 2)
        {
            throw new XsError(Errno.EINVAL);
        }
        final Domain d = domains.get(domid(args.get(0)));
        final int target = domid(args.get(1));
        if (null == d || !domains.containsKey(target))
        {
            throw new XsError(Errno.ENOENT);
        }
        d.target = target;
        return OK;
    }

    byte[] doControl(final byte[] payload)
    {
        final List<String> args = strings(payload);
        if (args.isEmpty())
        {
            throw new XsError(Errno.EINVAL);
        }
        final String text = switch (args.get(0))
        {
            case "print" ->
            {
                LOG.info("xenstore-control print: " + String.join(" ", args.subList(1, args.size())));
                yield "OK";
            }
            case "check" -> "OK";
            // The simulator's stand-in for VIRQ_DOM_EXC, which Xen raises in dom0 when a domain shuts down: C
            // xenstored then finds the domain shut down and fires @releaseDomain (domainShutDown).
            case "virq-dom-exc" ->
            {
                if (args.size() != 2)
                {
                    throw new XsError(Errno.EINVAL);
                }
                markShutDown(domid(args.get(1)));
                yield "OK";
            }
            case "help" -> "Available commands:\ncheck\nhelp\nprint <string>\nvirq-dom-exc <domid>\n";
            default -> throw new XsError(Errno.EINVAL);
        };
        return (text + "\0").getBytes(StandardCharsets.UTF_8);
    }

    byte[] doGetFeature(final byte[] payload)
    {
        final List<String> args = strings(payload);
        if (args.isEmpty())
        {
            return (config.serverFeatures() + "\0").getBytes(StandardCharsets.US_ASCII);
        }
        final Domain d = domains.get(domid(args.get(0)));
        if (null == d)
        {
            throw new XsError(Errno.ENOENT);
        }
        return (d.features + "\0").getBytes(StandardCharsets.US_ASCII);
    }

    byte[] doSetFeature(final byte[] payload)
    {
        final List<String> args = strings(payload);
        if (args.size() < 2)
        {
            throw new XsError(Errno.EINVAL);
        }
        final Domain d = domains.get(domid(args.get(0)));
        if (null == d)
        {
            throw new XsError(Errno.ENOENT);
        }
        final long value = number(args.get(1));
        if ((value & ~config.serverFeatures()) != 0)
        {
            throw new XsError(Errno.EINVAL);
        }
        d.features = value;
        return OK;
    }

    private static final class Domain
    {
        private final int domid;
        private final long mfn;
        private final int port;
        private ServerSocketChannel listener;
        private Integer target;
        private boolean shutdown;
        private long features;

        Domain(final int domid, final long mfn, final int port)
        {
            this.domid = domid;
            this.mfn = mfn;
            this.port = port;
        }

        void closeListener()
        {
            try
            {
                if (null != listener)
                {
                    final Object address = listener.getLocalAddress();
                    listener.close();
                    if (address instanceof UnixDomainSocketAddress u)
                    {
                        Files.deleteIfExists(u.getPath());
                    }
                }
            }
            catch (final IOException ex)
            {
                LOG.log(Level.WARNING, "closing the socket of domain " + domid, ex);
            }
        }
    }
}
