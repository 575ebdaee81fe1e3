package org.dom0j.it;

import org.dom0j.backend.ConnectedQueue;
import org.dom0j.backend.DeviceContext;
import org.dom0j.backend.DeviceType;
import org.dom0j.backend.InvalidFrontendException;
import org.dom0j.backend.QueueConfig;
import org.dom0j.backend.QueueHandler;
import org.dom0j.common.XenException;
import org.dom0j.domctl.DomainControl;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.gnttab.GrantCopyBatch;
import org.dom0j.gnttab.GrantMapping;
import org.dom0j.gnttab.GrantSharing;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.platform.PlatformFeature;
import org.dom0j.platform.XenPlatform;
import org.dom0j.xenstore.XenStore;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

/**
 * A platform, grant tables, event channels and device types that pass every call on and keep what they throw: a
 * {@link XenException} is the platform refusing what a guest asked for (a bad grant ref, a port not bound to dom0),
 * anything else out of a backend's own code is a bug. The conductor turns both into a failed device ("connect
 * failed: " and the message); with these records a fuzz test tells the one from the other.
 * <p>
 * Any thread.
 */
final class RecordingPlatform implements XenPlatform
{
    /** Messages of the {@link XenException}s thrown: refusals. */
    final Set<String> refusals = ConcurrentHashMap.newKeySet();
    /** Everything else thrown: bugs. */
    final List<Throwable> bugs = new CopyOnWriteArrayList<>();
    private final XenPlatform delegate;

    RecordingPlatform(final XenPlatform delegate)
    {
        this.delegate = delegate;
    }

    <T> T record(final Supplier<T> call)
    {
        try
        {
            return call.get();
        }
        catch (final XenException ex)
        {
            refusals.add(String.valueOf(ex.getMessage()));
            throw ex;
        }
        catch (final RuntimeException ex)
        {
            bugs.add(ex);
            throw ex;
        }
    }

    @Override
    public String name()
    {
        return delegate.name();
    }

    @Override
    public String description()
    {
        return delegate.description();
    }

    @Override
    public Set<PlatformFeature> features()
    {
        return delegate.features();
    }

    @Override
    public int localDomid()
    {
        return delegate.localDomid();
    }

    @Override
    public XenStore openXenStore()
    {
        return delegate.openXenStore();
    }

    @Override
    public GrantTables openGrantTables()
    {
        return grantTables(delegate.openGrantTables());
    }

    @Override
    public GrantSharing openGrantSharing()
    {
        return delegate.openGrantSharing();
    }

    @Override
    public EventChannels openEventChannels()
    {
        return new Channels(delegate.openEventChannels());
    }

    @Override
    public DomainControl openDomainControl()
    {
        return delegate.openDomainControl();
    }

    @Override
    public void close()
    {
        delegate.close();
    }

    /**
     * @param tables grant tables to watch.
     * @return them, recording what they throw.
     */
    GrantTables grantTables(final GrantTables tables)
    {
        return new Grants(tables);
    }

    /**
     * @param type a device type to watch.
     * @return it, recording what it throws.
     */
    DeviceType deviceType(final DeviceType type)
    {
        return new Watched(type);
    }

    private final class Grants implements GrantTables
    {
        private final GrantTables tables;

        Grants(final GrantTables tables)
        {
            this.tables = tables;
        }

        @Override
        public GrantMapping map(final int domid, final int[] refs, final int count, final boolean writable)
        {
            return record(() -> tables.map(domid, refs, count, writable));
        }

        @Override
        public GrantMapping mapOneWithNotify(final int domid, final int ref, final boolean writable,
            final int notifyOffset, final int notifyPort)
        {
            return record(() -> tables.mapOneWithNotify(domid, ref, writable, notifyOffset, notifyPort));
        }

        @Override
        public void copy(final GrantCopyBatch batch)
        {
            tables.copy(batch);
        }

        @Override
        public void setMaxGrants(final int count)
        {
            tables.setMaxGrants(count);
        }

        @Override
        public int mappedPageCount()
        {
            return tables.mappedPageCount();
        }

        @Override
        public void close()
        {
            tables.close();
        }
    }

    private final class Channels implements EventChannels
    {
        private final EventChannels channels;

        Channels(final EventChannels channels)
        {
            this.channels = channels;
        }

        @Override
        public int bindInterdomain(final int remoteDomid, final int remotePort)
        {
            return record(() -> channels.bindInterdomain(remoteDomid, remotePort));
        }

        @Override
        public int bindUnboundPort(final int remoteDomid)
        {
            return record(() -> channels.bindUnboundPort(remoteDomid));
        }

        @Override
        public void unbind(final int port)
        {
            channels.unbind(port);
        }

        @Override
        public void notify(final int port)
        {
            channels.notify(port);
        }

        @Override
        public int pending()
        {
            return channels.pending();
        }

        @Override
        public int pending(final long timeoutNanos)
        {
            return channels.pending(timeoutNanos);
        }

        @Override
        public boolean awaitEvent(final long timeoutNanos)
        {
            return channels.awaitEvent(timeoutNanos);
        }

        @Override
        public void wakeup()
        {
            channels.wakeup();
        }

        @Override
        public void unmask(final int port)
        {
            channels.unmask(port);
        }

        @Override
        public void close()
        {
            channels.close();
        }
    }

    /** A device type whose calls from the conductor are recorded. */
    private final class Watched implements DeviceType
    {
        private final DeviceType type;

        Watched(final DeviceType type)
        {
            this.type = type;
        }

        @Override
        public String name()
        {
            return type.name();
        }

        @Override
        public boolean servesFrontend(final String frontendPath)
        {
            return record(() -> type.servesFrontend(frontendPath));
        }

        @Override
        public Map<String, String> advertise(final DeviceContext device) throws InvalidFrontendException
        {
            return checked(() -> type.advertise(device));
        }

        @Override
        public List<QueueConfig> readFrontend(final DeviceContext device) throws InvalidFrontendException
        {
            return checked(() -> type.readFrontend(device));
        }

        @Override
        public QueueHandler connect(final DeviceContext device, final ConnectedQueue queue)
            throws InvalidFrontendException
        {
            return checked(() -> type.connect(device, queue));
        }

        @Override
        public void disconnect(final DeviceContext device)
        {
            record(() ->
            {
                type.disconnect(device);
                return null;
            });
        }

        @Override
        public void remove(final DeviceContext device)
        {
            record(() ->
            {
                type.remove(device);
                return null;
            });
        }

        private <T> T checked(final CheckedCall<T> call) throws InvalidFrontendException
        {
            try
            {
                return call.call();
            }
            catch (final XenException ex)
            {
                refusals.add(String.valueOf(ex.getMessage()));
                throw ex;
            }
            catch (final RuntimeException ex)
            {
                bugs.add(ex);
                throw ex;
            }
        }
    }

    /** A call that may refuse a frontend. */
    @FunctionalInterface
    private interface CheckedCall<T>
    {
        T call() throws InvalidFrontendException;
    }
}
