package org.dom0j.console;

import org.dom0j.backend.ConnectedQueue;
import org.dom0j.backend.DeviceContext;
import org.dom0j.backend.DeviceType;
import org.dom0j.backend.InvalidFrontendException;
import org.dom0j.backend.QueueConfig;
import org.dom0j.backend.QueueHandler;
import org.dom0j.backend.RingProtocol;
import org.dom0j.backend.XenbusValues;
import org.dom0j.evtchn.EventChannelException;
import org.dom0j.evtchn.EventChannels;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Secondary PV consoles ({@code backend/console/<domid>/<devid>}, frontend {@code device/console/<devid>}), the
 * worked example of a {@link DeviceType} (docs/writing-a-backend.md). What a console frontend writes (Linux's
 * hvc_xen {@code xencons_connect_backend}, read the same way by QEMU's xen_console): {@code ring-ref} (the grant of
 * one {@code xencons_interface} page) and {@code port} (an unbound event channel); nothing is negotiated, so the
 * backend advertises nothing. The page is not a request/response ring: it is a {@link QueueConfig#rawPages} queue
 * served by a {@link ConsolePump}.
 * <p>
 * A {@code protocol} node is not needed (the page is the same for every ABI) and Linux writes none; if a frontend
 * writes one, it must still name an ABI Xen knows, as everywhere else.
 * <p>
 * The primary console ({@code backend/console/<domid>/0} whose frontend is {@code /local/domain/<domid>/console})
 * is not served through xenbus: {@link #servesFrontend} leaves it to {@link PrimaryConsoles} (xenconsoled's job).
 * <p>
 * Called on the conductor's thread; the pumps run on their agents' threads.
 */
public final class ConsoleDeviceType implements DeviceType
{
    /** The xenstore device type. */
    public static final String NAME = "console";
    private static final Pattern PRIMARY_FRONTEND = Pattern.compile("/local/domain/[0-9]+/console");

    private final ConsoleHub hub;

    /**
     * @param hub where sessions (logs and sockets) are opened.
     */
    public ConsoleDeviceType(final ConsoleHub hub)
    {
        this.hub = hub;
    }

    @Override
    public String name()
    {
        return NAME;
    }

    @Override
    public boolean servesFrontend(final String frontendPath)
    {
        return null == frontendPath || !PRIMARY_FRONTEND.matcher(frontendPath).matches();
    }

    @Override
    public Map<String, String> advertise(final DeviceContext device)
    {
        return Map.of();
    }

    @Override
    public List<QueueConfig> readFrontend(final DeviceContext device) throws InvalidFrontendException
    {
        final XenbusValues values = device.values();
        final String fe = device.frontendPath();
        values.readProtocol(fe, RingProtocol.X86_64);
        final int ref = values.readGrantRef(fe + "/ring-ref");
        final int port = values.readEventChannel(fe + "/port");
        return List.of(QueueConfig.rawPages(0, new int[]{ ref }, port));
    }

    @Override
    public QueueHandler connect(final DeviceContext device, final ConnectedQueue queue)
        throws InvalidFrontendException
    {
        final String name = device.values().readOrNull("/local/domain/" + device.frontendDomid() + "/name");
        try
        {
            final ConsoleSession session = hub.open(device.frontendDomid(), device.devid(), name);
            final EventChannels agent = queue.eventChannels();
            // Typed input wakes the console's agent, which otherwise sleeps until the guest's next event.
            session.onInput(() ->
            {
                try
                {
                    agent.wakeup();
                }
                catch (final EventChannelException ex)
                {
                    // The queue is being disconnected: nothing to wake.
                }
            });
            return new ConsolePump(new ConsoleRing(queue.mapping().buffer()), session);
        }
        catch (final IOException ex)
        {
            throw new InvalidFrontendException(device.backendPath(), null,
                "cannot open the console's log or socket: " + ex.getMessage());
        }
    }

    @Override
    public void disconnect(final DeviceContext device)
    {
        hub.close(device.frontendDomid(), device.devid());
    }
}
