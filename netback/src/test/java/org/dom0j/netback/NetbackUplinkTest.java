package org.dom0j.netback;

import org.dom0j.sim.guest.NetFrames;
import org.dom0j.sim.guest.NetGuest;
import org.dom0j.sim.guest.NetWorkload;
import org.dom0j.sim.guest.SimNetfront;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.DatagramSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two dom0j services, each with its own simulated machine and switch, joined into one L2 segment over Aeron UDP on
 * loopback: a guest on one pings and moves verified streams to a guest on the other, both ways; then one service
 * stops, and the other's guests go on talking to each other (a peer that dies costs only frames to it).
 */
@Timeout(180)
class NetbackUplinkTest
{
    @TempDir
    Path dir;

    private final List<ThreadedNetback> services = new ArrayList<>();

    @AfterEach
    void tearDown()
    {
        for (final ThreadedNetback service : services)
        {
            service.close();
            assertThat(service.errors).as("errors raised by agents").isEmpty();
        }
    }

    private ThreadedNetback service(final String name, final int listen, final int peer)
    {
        final ThreadedNetback service = new ThreadedNetback(dir.resolve(name), (gnttab, counters) ->
        {
            final NetbackDeviceType vif = NetbackDeviceType.withSwitch(NetbackConfiguration.fromSystemProperties(),
                gnttab, counters);
            vif.addAeronUplink(new AeronSettings(null, "aeron:udp?endpoint=127.0.0.1:" + listen,
                List.of("aeron:udp?endpoint=127.0.0.1:" + peer), AeronSettings.DEFAULT_STREAM_ID));
            return vif;
        });
        services.add(service);
        return service;
    }

    private static int freeUdpPort() throws Exception
    {
        try (DatagramSocket socket = new DatagramSocket(0))
        {
            return socket.getLocalPort();
        }
    }

    @Test
    void shouldJoinTwoServicesSwitchesIntoOneSegmentAndKeepLocalTrafficWhenThePeerDies() throws Exception
    {
        final int portA = freeUdpPort();
        final int portB = freeUdpPort();
        final ThreadedNetback a = service("a", portA, portB);
        final ThreadedNetback b = service("b", portB, portA);
        final int ip5 = NetFrames.parseIpv4("10.0.0.5");
        final int ip6 = NetFrames.parseIpv4("10.0.0.6");
        final int ip7 = NetFrames.parseIpv4("10.0.0.7");
        final SimNetfront.Options options = SimNetfront.Options.linuxDefaults();
        final ExecutorService pool = Executors.newFixedThreadPool(2);
        try
        {
            final Future<NetWorkload.Result> five = pool.submit(() ->
                NetGuest.run(a.machine, 5, "0", ip5, ip6, options, 42, 2, null));
            final Future<NetWorkload.Result> six = pool.submit(() ->
                NetGuest.run(b.machine, 6, "0", ip6, ip5, options, 42, 2, null));
            for (final NetWorkload.Result result : List.of(five.get(120, TimeUnit.SECONDS),
                six.get(120, TimeUnit.SECONDS)))
            {
                assertThat(result.problem()).isNull();
                assertThat(result.stats().verifiedBytes).isGreaterThan(100_000);
                assertThat(result.stats().mismatches).isZero();
                assertThat(result.stats().pingReplies).isPositive();
            }

            // Service b stops: a's guests still talk to each other, and frames for b's guest cost only themselves.
            services.remove(b);
            b.close();
            final Future<NetWorkload.Result> fiveAgain = pool.submit(() ->
                NetGuest.run(a.machine, 5, "0", ip5, ip7, options, 43, 1.5, null));
            final Future<NetWorkload.Result> seven = pool.submit(() ->
                NetGuest.run(a.machine, 7, "0", ip7, ip5, options, 43, 1.5, null));
            for (final NetWorkload.Result result : List.of(fiveAgain.get(120, TimeUnit.SECONDS),
                seven.get(120, TimeUnit.SECONDS)))
            {
                assertThat(result.problem()).isNull();
                assertThat(result.stats().verifiedBytes).isGreaterThan(100_000);
                assertThat(result.stats().mismatches).isZero();
            }
        }
        finally
        {
            pool.shutdownNow();
        }
    }
}
