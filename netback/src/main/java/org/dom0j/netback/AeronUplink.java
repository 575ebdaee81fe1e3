package org.dom0j.netback;

import io.aeron.Aeron;
import io.aeron.FragmentAssembler;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.logbuffer.FragmentHandler;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.CountersManager;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The switch's uplink to other hosts: their dom0j services' switches and this one form one L2 segment over Aeron
 * ({@code aeron:udp?endpoint=...} between hosts, {@code aeron:ipc} between services on one host). dom0j invents no
 * transport: frames are Aeron messages, fragmented and reassembled by Aeron, each behind a small header:
 * <pre>
 *   0            4        8     9       10       12
 *   +------------+--------+-----+-------+--------+------------------
 *   | service id | length |csum |gsoType|gsoSize | frame bytes ...
 *   +------------+--------+-----+-------+--------+------------------
 * </pre>
 * A frame goes to every peer's publication (the uplink is one port of the switch: unicast to an address learned
 * behind it, floods, and nothing that came in by it goes back out). A publication whose peer is gone or slow refuses
 * the frame at once ({@code NOT_CONNECTED}, {@code BACK_PRESSURED}): the frame is dropped and counted, the guests
 * here never wait. A service drops its own frames (the service id), so every service may publish to and subscribe
 * one shared channel (IPC, multicast).
 * <p>
 * <b>Threads</b>: {@link #deliver} from any agent (Aeron's publications are thread safe; each thread has its own
 * header scratch); the subscriber thread ({@code netback-uplink-aeron}). No allocation per frame.
 */
final class AeronUplink extends Uplink
{
    static final int SERVICE_OFFSET = 0;
    static final int LENGTH_OFFSET = 4;
    static final int CSUM_OFFSET = 8;
    static final int GSO_TYPE_OFFSET = 9;
    static final int GSO_SIZE_OFFSET = 10;
    static final int HEADER_LENGTH = 12;
    private static final int FRAGMENT_LIMIT = 64;
    private static final int MAX_FRAME = 65536 + 18;

    private final int serviceId = ThreadLocalRandom.current().nextInt() | 1;
    private final Publication[] publications;
    private final Subscription subscription;
    private final ThreadLocal<UnsafeBuffer> headerScratch =
        ThreadLocal.withInitial(() -> new UnsafeBuffer(ByteBuffer.allocateDirect(HEADER_LENGTH)));
    private Thread subscriber;
    private volatile boolean running;

    /**
     * @param aeron         a connected client (its media driver embedded or external).
     * @param subscribe     the channel frames from peers arrive on, e.g. "aeron:udp?endpoint=0.0.0.0:40456".
     * @param publish       one channel per peer, e.g. "aeron:udp?endpoint=10.1.2.3:40456" (or the same IPC channel).
     * @param streamId      the stream on every channel.
     * @param counters      where its counters go.
     */
    AeronUplink(
        final Aeron aeron,
        final String subscribe,
        final List<String> publish,
        final int streamId,
        final CountersManager counters)
    {
        super("aeron", counters);
        subscription = aeron.addSubscription(subscribe, streamId);
        publications = new Publication[publish.size()];
        for (int i = 0; i < publications.length; i++)
        {
            publications[i] = aeron.addPublication(publish.get(i), streamId);
        }
    }

    /**
     * @return whether at least one peer's publication is connected.
     */
    boolean isConnected()
    {
        for (final Publication publication : publications)
        {
            if (publication.isConnected())
            {
                return true;
            }
        }
        return false;
    }

    @Override
    public boolean deliver(final Frame frame, final long nowNanos)
    {
        final UnsafeBuffer header = headerScratch.get();
        header.putInt(SERVICE_OFFSET, serviceId, ByteOrder.LITTLE_ENDIAN);
        header.putInt(LENGTH_OFFSET, frame.length(), ByteOrder.LITTLE_ENDIAN);
        header.putByte(CSUM_OFFSET, (byte)frame.csum());
        header.putByte(GSO_TYPE_OFFSET, (byte)frame.gsoType());
        header.putShort(GSO_SIZE_OFFSET, (short)frame.gsoSize(), ByteOrder.LITTLE_ENDIAN);
        boolean sent = false;
        for (final Publication publication : publications)
        {
            // Never retried: a peer that is gone or slow costs this frame, not a guest's progress here.
            sent |= publication.offer(header, 0, HEADER_LENGTH, frame.localView(), 0, frame.length()) > 0;
        }
        return countSent(sent, frame.length());
    }

    @Override
    void startReceiving()
    {
        running = true;
        subscriber = new Thread(this::subscribeLoop, "netback-uplink-aeron");
        subscriber.setDaemon(true);
        subscriber.start();
    }

    private void subscribeLoop()
    {
        final Frame frame = new Frame();
        final UnsafeBuffer copy = new UnsafeBuffer(ByteBuffer.allocateDirect(MAX_FRAME));
        final PacketHeaders headers = new PacketHeaders();
        final FragmentHandler onMessage = (buffer, offset, length, header) -> onMessage(buffer, offset, length,
            frame, headers, copy);
        final FragmentAssembler assembler = new FragmentAssembler(onMessage);
        final IdleStrategy idle = new BackoffIdleStrategy(100, 10, TimeUnit.MICROSECONDS.toNanos(10),
            TimeUnit.MILLISECONDS.toNanos(1));
        while (running)
        {
            idle.idle(subscription.poll(assembler, FRAGMENT_LIMIT));
        }
    }

    private void onMessage(
        final DirectBuffer buffer,
        final int offset,
        final int length,
        final Frame frame,
        final PacketHeaders headers,
        final UnsafeBuffer copy)
    {
        if (length < HEADER_LENGTH + PacketHeaders.ETH_HLEN ||
            buffer.getInt(offset + SERVICE_OFFSET, ByteOrder.LITTLE_ENDIAN) == serviceId)
        {
            return;
        }
        final int frameLength = buffer.getInt(offset + LENGTH_OFFSET, ByteOrder.LITTLE_ENDIAN);
        if (frameLength != length - HEADER_LENGTH || frameLength > MAX_FRAME)
        {
            rxDropped.incrementRelease();
            return;
        }
        final int csum = buffer.getByte(offset + CSUM_OFFSET);
        final int gsoType = buffer.getByte(offset + GSO_TYPE_OFFSET);
        final int gsoSize = buffer.getShort(offset + GSO_SIZE_OFFSET, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
        if (csum < Frame.CSUM_NONE || csum > Frame.CSUM_VALIDATED || gsoType < 0 || gsoType > 2 ||
            (gsoType != 0 && gsoSize == 0))
        {
            rxDropped.incrementRelease();
            return;
        }
        // A reassembled message lives on the heap (FragmentAssembler's buffer): copied to native memory, where a
        // frame's bytes must be for the grant copies that take them into guests.
        copy.putBytes(0, buffer, offset + HEADER_LENGTH, frameLength);
        frame.local(copy.addressOffset(), frameLength).csum(csum).gso(gsoType, gsoSize);
        received(frame, headers, System.nanoTime());
    }

    @Override
    void stopReceiving()
    {
        running = false;
        if (null != subscriber)
        {
            try
            {
                subscriber.join(5_000);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }
        CloseHelper.closeAll(publications);
        CloseHelper.close(subscription);
    }
}
