package org.dom0j.netback;

import org.dom0j.linux.Epoll;
import org.dom0j.linux.EventFd;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Tells vif queues in drop-in mode that their TAP has frames: one thread waits in epoll on every TAP queue's
 * descriptor (edge-triggered), and on readiness marks the owning queue's TAP readable and wakes its agent through
 * its event channel handle. The agent then reads the TAP itself, straight into its receive staging area, and only
 * while the guest has buffers posted for what it reads: what the guest cannot take stays in the kernel's queue for
 * the TAP, which bounds it.
 * <p>
 * It sleeps until a TAP has frames or {@link #close} wakes it (an eventfd in the same epoll set): an idle service
 * spends no wake-ups on it. (It woke every 100 ms: in a PV dom0 each wake-up is a timer, an upcall and a context switch
 * through the hypervisor, and an idle serve's poller took 0.09 s of dom0's CPU per 10 s under the real-Xen tier.)
 * <p>
 * <b>Threads</b>: its own ({@code netback-tap-poller}); {@link #register} and {@link #unregister} from the
 * conductor (epoll_ctl beside a running epoll_wait is safe).
 */
final class TapPoller implements AutoCloseable
{
    private static final System.Logger LOG = System.getLogger(TapPoller.class.getName());
    private static final int MAX_QUEUES = 4096;
    /** The epoll data of the close's wake-up: no queue's slot. */
    private static final long CLOSING = -1;

    private final Epoll epoll = Epoll.open(64);
    private final EventFd closing = EventFd.open();
    private final AtomicReferenceArray<VifQueue> owners = new AtomicReferenceArray<>(MAX_QUEUES);
    private final Thread thread;
    private volatile boolean running = true;

    TapPoller()
    {
        epoll.add(closing.fd(), Epoll.EPOLLIN, CLOSING);
        thread = new Thread(this::run, "netback-tap-poller");
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * @param queue a vif queue with a TAP.
     * @return its registration, for {@link #unregister}.
     */
    synchronized int register(final VifQueue queue)
    {
        for (int slot = 0; slot < MAX_QUEUES; slot++)
        {
            if (owners.get(slot) == null)
            {
                owners.set(slot, queue);
                final TapQueue tap = queue.tap();
                for (final int q : tap.tapQueues())
                {
                    epoll.add(tap.tap().fd(q), Epoll.EPOLLIN | Epoll.EPOLLET, slot);
                }
                return slot;
            }
        }
        throw new IllegalStateException("more than " + MAX_QUEUES + " vif queues in drop-in mode");
    }

    /**
     * @param slot a registration; the queue's descriptors are no longer watched.
     */
    synchronized void unregister(final int slot)
    {
        final VifQueue queue = owners.getAndSet(slot, null);
        if (queue != null)
        {
            final TapQueue tap = queue.tap();
            for (final int q : tap.tapQueues())
            {
                try
                {
                    epoll.delete(tap.tap().fd(q));
                }
                catch (final RuntimeException ex)
                {
                    LOG.log(System.Logger.Level.DEBUG, "epoll delete", ex);
                }
            }
        }
    }

    private void run()
    {
        while (running)
        {
            final int n = epoll.await(-1);
            for (int i = 0; i < n; i++)
            {
                final long slot = epoll.data(i);
                if (slot >= 0 && slot < MAX_QUEUES)
                {
                    final VifQueue queue = owners.get((int)slot);
                    if (queue != null)
                    {
                        queue.tap().readable().set(true);
                        queue.wake();
                    }
                }
            }
        }
    }

    @Override
    public void close()
    {
        running = false;
        closing.signal();
        try
        {
            thread.join(5_000);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        epoll.close();
        closing.close();
    }
}
