package org.dom0j.backend;

import org.agrona.concurrent.UnsafeBuffer;
import org.dom0j.domctl.DomainControl;
import org.dom0j.evtchn.EventChannelException;
import org.dom0j.evtchn.EventChannels;
import org.dom0j.gnttab.GrantCopyBatch;
import org.dom0j.gnttab.GrantMapping;
import org.dom0j.gnttab.GrantTableException;
import org.dom0j.gnttab.GrantSharing;
import org.dom0j.gnttab.GrantTables;
import org.dom0j.platform.PlatformFeature;
import org.dom0j.platform.XenPlatform;
import org.dom0j.xenstore.XenStore;

import java.nio.ByteBuffer;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A test fixture, not the simulator: grants and event channels of guests living in this process, just enough for
 * the conductor's unit tests (contiguous grant regions only, no permissions beyond domid checks, no masking). The
 * simulator (issue 4) replaces it in integration tests. Counts what is mapped and bound so tests can check for
 * leaks.
 */
final class FakeHypervisor implements XenPlatform
{
    private static final int EINVAL = 22;
    private static final int EBUSY = 16;

    private final InMemoryXenStore xenStore;
    private final Map<Long, Region> grants = new HashMap<>();
    private final AtomicInteger mappedPages = new AtomicInteger();
    private final AtomicInteger boundPorts = new AtomicInteger();
    private final Map<Integer, Channel> guestPorts = new HashMap<>();
    private int nextPort = 1;

    private record Region(UnsafeBuffer memory, int firstRef, int pages)
    {
    }

    /** The guest end of an event channel. */
    final class Channel
    {
        final int guestDomid;
        final int guestPort;
        final ConcurrentLinkedQueue<Integer> guestPending = new ConcurrentLinkedQueue<>();
        Handle backend;
        int backendPort = -1;

        Channel(final int guestDomid, final int guestPort)
        {
            this.guestDomid = guestDomid;
            this.guestPort = guestPort;
        }

        /** The guest notifies the backend. */
        void notifyBackend()
        {
            synchronized (FakeHypervisor.this)
            {
                if (backend != null)
                {
                    backend.pendingPorts.add(backendPort);
                }
            }
        }

        /** @return how many events the guest received. */
        int takeGuestEvents()
        {
            int n = 0;
            while (guestPending.poll() != null)
            {
                n++;
            }
            return n;
        }
    }

    FakeHypervisor(final InMemoryXenStore xenStore)
    {
        this.xenStore = xenStore;
    }

    /**
     * A guest grants {@code pages} contiguous pages to dom0 as refs {@code firstRef ..}.
     */
    synchronized UnsafeBuffer grant(final int domid, final int firstRef, final int pages)
    {
        final UnsafeBuffer memory = new UnsafeBuffer(ByteBuffer.allocateDirect(pages * 4096));
        grants.put(((long)domid << 32) | firstRef, new Region(memory, firstRef, pages));
        return memory;
    }

    /**
     * A guest allocates an unbound port for dom0.
     */
    synchronized Channel allocUnbound(final int guestDomid)
    {
        final Channel channel = new Channel(guestDomid, nextPort++);
        guestPorts.put(channel.guestPort, channel);
        return channel;
    }

    int mappedPages()
    {
        return mappedPages.get();
    }

    int boundPorts()
    {
        return boundPorts.get();
    }

    @Override
    public String name()
    {
        return "fake";
    }

    @Override
    public String description()
    {
        return "in-process test fixture";
    }

    @Override
    public Set<PlatformFeature> features()
    {
        return EnumSet.of(PlatformFeature.MULTI_PAGE_MAP);
    }

    @Override
    public int localDomid()
    {
        return 0;
    }

    @Override
    public XenStore openXenStore()
    {
        return xenStore;
    }

    @Override
    public GrantSharing openGrantSharing()
    {
        throw new UnsupportedOperationException("gntshr is not faked");
    }

    @Override
    public GrantTables openGrantTables()
    {
        return new GrantTables()
        {
            @Override
            public GrantMapping map(final int domid, final int[] refs, final int count, final boolean writable)
            {
                final Region region;
                synchronized (FakeHypervisor.this)
                {
                    region = grants.get(((long)domid << 32) | refs[0]);
                }
                if (region == null || count > region.pages)
                {
                    throw new GrantTableException(EINVAL, "map grant ref " + refs[0] + " of domain " + domid);
                }
                for (int i = 1; i < count; i++)
                {
                    if (refs[i] != refs[0] + i)
                    {
                        throw new GrantTableException(EINVAL, "map grant ref " + refs[i] + " of domain " + domid);
                    }
                }
                mappedPages.addAndGet(count);
                final UnsafeBuffer view = new UnsafeBuffer(region.memory, 0, count * 4096);
                return new GrantMapping()
                {
                    private boolean closed;

                    @Override
                    public UnsafeBuffer buffer()
                    {
                        return view;
                    }

                    @Override
                    public int pageCount()
                    {
                        return count;
                    }

                    @Override
                    public long address()
                    {
                        return view.addressOffset();
                    }

                    @Override
                    public void close()
                    {
                        if (!closed)
                        {
                            closed = true;
                            mappedPages.addAndGet(-count);
                        }
                    }
                };
            }

            @Override
            public GrantMapping mapOneWithNotify(
                final int domid, final int ref, final boolean writable, final int notifyOffset, final int notifyPort)
            {
                throw new UnsupportedOperationException("unmap notification is not faked");
            }

            @Override
            public void copy(final GrantCopyBatch batch)
            {
                throw new UnsupportedOperationException("grant copy");
            }

            @Override
            public void setMaxGrants(final int count)
            {
            }

            @Override
            public int mappedPageCount()
            {
                return mappedPages.get();
            }

            @Override
            public void close()
            {
            }
        };
    }

    /** One event channel handle of the backend. */
    final class Handle implements EventChannels
    {
        final LinkedBlockingQueue<Integer> pendingPorts = new LinkedBlockingQueue<>();
        /** Calls of {@link #pending()}: each a read of the evtchn device on Xen. */
        final AtomicInteger reads = new AtomicInteger();
        /** The ports unmasked, in order. */
        final ConcurrentLinkedQueue<Integer> unmasked = new ConcurrentLinkedQueue<>();
        final java.util.concurrent.atomic.AtomicBoolean woken = new java.util.concurrent.atomic.AtomicBoolean();
        final Map<Integer, Channel> bound = new HashMap<>();

        @Override
        public int bindInterdomain(final int remoteDomid, final int remotePort)
        {
            synchronized (FakeHypervisor.this)
            {
                final Channel channel = guestPorts.get(remotePort);
                if (channel == null || channel.guestDomid != remoteDomid)
                {
                    throw new EventChannelException(EINVAL, "bind port " + remotePort + " of domain " + remoteDomid);
                }
                if (channel.backend != null)
                {
                    throw new EventChannelException(EBUSY, "port " + remotePort + " already bound");
                }
                channel.backend = this;
                channel.backendPort = 1000 + remotePort;
                bound.put(channel.backendPort, channel);
                boundPorts.incrementAndGet();
                return channel.backendPort;
            }
        }

        @Override
        public int bindUnboundPort(final int remoteDomid)
        {
            throw new UnsupportedOperationException();
        }

        @Override
        public void unbind(final int port)
        {
            synchronized (FakeHypervisor.this)
            {
                final Channel channel = bound.remove(port);
                if (channel == null)
                {
                    throw new EventChannelException(EINVAL, "unbind " + port);
                }
                channel.backend = null;
                boundPorts.decrementAndGet();
            }
        }

        @Override
        public void notify(final int port)
        {
            final Channel channel;
            synchronized (FakeHypervisor.this)
            {
                channel = bound.get(port);
            }
            if (channel == null)
            {
                throw new EventChannelException(EINVAL, "notify " + port);
            }
            channel.guestPending.add(channel.guestPort);
        }

        @Override
        public int pending()
        {
            reads.incrementAndGet();
            final Integer port = pendingPorts.poll();
            return port == null ? -1 : port;
        }

        @Override
        public int pending(final long timeoutNanos)
        {
            try
            {
                final Integer port = pendingPorts.poll(timeoutNanos, TimeUnit.NANOSECONDS);
                return port == null ? -1 : port;
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                return -1;
            }
        }

        @Override
        public boolean awaitEvent(final long timeoutNanos)
        {
            // As poll(2) on the evtchn device and the simulator's futex (both through JNA): an interrupt does not
            // end the wait; an event, a wake-up or the timeout does.
            final long deadline = System.nanoTime() + timeoutNanos;
            while (pendingPorts.isEmpty() && System.nanoTime() < deadline && !woken.getAndSet(false))
            {
                java.util.concurrent.locks.LockSupport.parkNanos(Math.min(100_000, deadline - System.nanoTime()));
            }
            return !pendingPorts.isEmpty();
        }

        @Override
        public void wakeup()
        {
            woken.set(true);
        }

        @Override
        public void unmask(final int port)
        {
            unmasked.add(port);
        }

        @Override
        public void close()
        {
            synchronized (FakeHypervisor.this)
            {
                for (final Channel channel : bound.values())
                {
                    channel.backend = null;
                    boundPorts.decrementAndGet();
                }
                bound.clear();
            }
        }
    }

    @Override
    public EventChannels openEventChannels()
    {
        return new Handle();
    }

    @Override
    public DomainControl openDomainControl()
    {
        throw new UnsupportedOperationException("domain control");
    }

    @Override
    public void close()
    {
    }
}
