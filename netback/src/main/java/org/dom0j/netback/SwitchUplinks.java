package org.dom0j.netback;

import io.aeron.Aeron;
import io.aeron.CommonContext;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import org.agrona.CloseHelper;
import org.agrona.concurrent.status.CountersManager;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The switch's uplinks (switch mode): TAP interfaces into dom0's network stack, and Aeron links to other hosts'
 * switches, with the Aeron client and the media driver embedded in the service that they share.
 */
final class SwitchUplinks implements AutoCloseable
{
    private static final System.Logger LOG = System.getLogger(SwitchUplinks.class.getName());
    private static final AtomicInteger DRIVERS = new AtomicInteger();

    private final L2Switch fabric;
    private final CountersManager countersManager;
    private final List<Uplink> uplinks = new CopyOnWriteArrayList<>();
    private MediaDriver mediaDriver;
    private Aeron aeron;

    /**
     * @param fabric          the switch, or null in drop-in mode (no uplinks then).
     * @param countersManager where uplink counters go.
     */
    SwitchUplinks(final L2Switch fabric, final CountersManager countersManager)
    {
        this.fabric = fabric;
        this.countersManager = countersManager;
    }

    /**
     * Adds an uplink into dom0's network stack (switch mode): a TAP interface, up, that dom0 can address or bridge.
     *
     * @param name the interface's name, e.g. "dom0j0".
     * @return the interface's name as the kernel gave it.
     */
    String addTap(final String name)
    {
        requireSwitch();
        final TapUplink uplink = new TapUplink(name, countersManager);
        uplinks.add(uplink);
        uplink.start(fabric);
        LOG.log(System.Logger.Level.INFO, "uplink " + uplink.interfaceName() + " into dom0's stack");
        return uplink.interfaceName();
    }

    /**
     * Joins the switch with other hosts' switches over Aeron (switch mode), with a media driver embedded in the
     * service unless the settings name an external one's directory.
     *
     * @param settings the channels.
     */
    void addAeron(final AeronSettings settings)
    {
        requireSwitch();
        if (null == aeron)
        {
            String directory = settings.aeronDirectory();
            if (null == directory)
            {
                directory = CommonContext.getAeronDirectoryName() + "-dom0j-" + ProcessHandle.current().pid() + "-" +
                    DRIVERS.incrementAndGet();
                mediaDriver = MediaDriver.launchEmbedded(new MediaDriver.Context()
                    .aeronDirectoryName(directory)
                    .threadingMode(ThreadingMode.SHARED)
                    .dirDeleteOnStart(true)
                    .dirDeleteOnShutdown(true));
                directory = mediaDriver.aeronDirectoryName();
            }
            aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(directory));
        }
        final AeronUplink uplink = new AeronUplink(aeron, settings.subscribe(), settings.publish(),
            settings.streamId(), countersManager);
        uplinks.add(uplink);
        uplink.start(fabric);
        LOG.log(System.Logger.Level.INFO, "uplink over Aeron: subscribed to " + settings.subscribe() +
            ", publishing to " + settings.publish() + (null == mediaDriver ? " (external media driver)" :
            " (media driver embedded in " + mediaDriver.aeronDirectoryName() + ")"));
    }

    private void requireSwitch()
    {
        if (null == fabric)
        {
            throw new IllegalStateException("uplinks belong to switch mode (--net-mode switch)");
        }
    }

    /**
     * Closes the uplinks, then the Aeron client and the media driver.
     */
    @Override
    public void close()
    {
        for (final Uplink uplink : uplinks)
        {
            uplink.close();
        }
        uplinks.clear();
        CloseHelper.closeAll(aeron, mediaDriver);
        aeron = null;
        mediaDriver = null;
    }
}
