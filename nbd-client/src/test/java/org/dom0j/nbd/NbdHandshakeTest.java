package org.dom0j.nbd;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.dom0j.nbd.NbdConstants.IHAVEOPT;
import static org.dom0j.nbd.NbdConstants.NBDMAGIC;
import static org.dom0j.nbd.NbdConstants.NBD_FLAG_FIXED_NEWSTYLE;
import static org.dom0j.nbd.NbdConstants.NBD_FLAG_HAS_FLAGS;
import static org.dom0j.nbd.NbdConstants.NBD_INFO_BLOCK_SIZE;
import static org.dom0j.nbd.NbdConstants.NBD_INFO_EXPORT;
import static org.dom0j.nbd.NbdConstants.NBD_OPT_GO;
import static org.dom0j.nbd.NbdConstants.NBD_OPT_STRUCTURED_REPLY;
import static org.dom0j.nbd.NbdConstants.NBD_REP_ACK;
import static org.dom0j.nbd.NbdConstants.NBD_REP_ERR_POLICY;
import static org.dom0j.nbd.NbdConstants.NBD_REP_ERR_SHUTDOWN;
import static org.dom0j.nbd.NbdConstants.NBD_REP_ERR_TLS_REQD;
import static org.dom0j.nbd.NbdConstants.NBD_REP_INFO;

/**
 * Handshakes that go wrong, each refused with an {@link NbdException} that says what the server did.
 */
@Timeout(30)
class NbdHandshakeTest
{
    @FunctionalInterface
    interface Server
    {
        void serve(FakeNbdServer.Session session) throws Exception;
    }

    enum Refusal
    {
        NOT_AN_NBD_SERVER("not an NBD server: the greeting starts 0x5353482d322e302d", s ->
            s.out.write("SSH-2.0-OpenSSH_9.2p1 Debian\r\n".getBytes(StandardCharsets.US_ASCII))),
        OLDSTYLE("oldstyle negotiation, which this client does not support", s ->
        {
            s.out.writeLong(NBDMAGIC);
            s.out.writeLong(NbdConstants.CLISERV_MAGIC);
            s.out.writeLong(1 << 20);
            s.out.writeInt(1);
            s.out.write(new byte[124]);
        }),
        BAD_SECOND_MAGIC("bad magic 0x1122334455667788 after NBDMAGIC", s ->
        {
            s.out.writeLong(NBDMAGIC);
            s.out.writeLong(0x1122334455667788L);
            s.out.writeShort(1);
        }),
        NOT_FIXED_NEWSTYLE("does not offer fixed newstyle negotiation (handshake flags 0x2)", s ->
        {
            s.out.writeLong(NBDMAGIC);
            s.out.writeLong(IHAVEOPT);
            s.out.writeShort(NbdConstants.NBD_FLAG_NO_ZEROES);
        }),
        TLS_REQUIRED("the server requires TLS", s ->
        {
            greet(s);
            s.optionReply(NBD_OPT_STRUCTURED_REPLY, NBD_REP_ERR_TLS_REQD, "TLS first".getBytes(StandardCharsets.UTF_8));
        }),
        SHUTTING_DOWN("the server is shutting down: NBD_REP_ERR_SHUTDOWN", s ->
        {
            greet(s);
            s.optionReply(NBD_OPT_STRUCTURED_REPLY, NBD_REP_ACK, new byte[0]);
            readOption(s);
            s.optionReply(NBD_OPT_GO, NBD_REP_ERR_SHUTDOWN, new byte[0]);
        }),
        POLICY("the server's policy refuses export 'disk': NBD_REP_ERR_POLICY (server says: 'not for you?')", s ->
        {
            greet(s);
            s.optionReply(NBD_OPT_STRUCTURED_REPLY, NBD_REP_ACK, new byte[0]);
            readOption(s);
            s.optionReply(NBD_OPT_GO, NBD_REP_ERR_POLICY, "not for you\n".getBytes(StandardCharsets.UTF_8));
        }),
        REPLY_TO_ANOTHER_OPTION("a reply to option 3 came when option 8 was asked", s ->
        {
            greet(s);
            s.optionReply(3, NBD_REP_ACK, new byte[0]);
        }),
        BAD_OPTION_REPLY_MAGIC("bad option reply magic 0x1", s ->
        {
            greet(s);
            s.out.writeLong(1);
            s.out.writeInt(NBD_OPT_STRUCTURED_REPLY);
            s.out.writeInt(NBD_REP_ACK);
            s.out.writeInt(0);
        }),
        HUGE_OPTION_REPLY("NBD_REP_INFO of 16777216 bytes (at most 65536 are accepted)", s ->
        {
            greet(s);
            s.optionReply(NBD_OPT_STRUCTURED_REPLY, NBD_REP_ACK, new byte[0]);
            readOption(s);
            s.out.writeLong(NbdConstants.OPTION_REPLY_MAGIC);
            s.out.writeInt(NBD_OPT_GO);
            s.out.writeInt(NBD_REP_INFO);
            s.out.writeInt(1 << 24);
        }),
        ACK_WITHOUT_EXPORT_INFORMATION("NBD_REP_ACK to NBD_OPT_GO without NBD_INFO_EXPORT", s ->
        {
            greet(s);
            s.optionReply(NBD_OPT_STRUCTURED_REPLY, NBD_REP_ACK, new byte[0]);
            readOption(s);
            s.optionReply(NBD_OPT_GO, NBD_REP_ACK, new byte[0]);
        }),
        EXPORT_INFORMATION_OF_THE_WRONG_LENGTH("NBD_INFO_EXPORT of 10 bytes (must be 12)", s ->
        {
            greet(s);
            s.optionReply(NBD_OPT_STRUCTURED_REPLY, NBD_REP_ACK, new byte[0]);
            readOption(s);
            s.optionReply(NBD_OPT_GO, NBD_REP_INFO, ByteBuffer.allocate(10).putShort((short)NBD_INFO_EXPORT).array());
        }),
        BLOCK_SIZES_AGAINST_THE_RULES("block sizes minimum 3, preferred 4096, maximum 65536 break", s ->
        {
            greet(s);
            s.optionReply(NBD_OPT_STRUCTURED_REPLY, NBD_REP_ACK, new byte[0]);
            readOption(s);
            s.optionReply(NBD_OPT_GO, NBD_REP_INFO, ByteBuffer.allocate(12).putShort((short)NBD_INFO_EXPORT)
                .putLong(1 << 20).putShort((short)NBD_FLAG_HAS_FLAGS).array());
            s.optionReply(NBD_OPT_GO, NBD_REP_INFO, ByteBuffer.allocate(14).putShort((short)NBD_INFO_BLOCK_SIZE)
                .putInt(3).putInt(4096).putInt(65536).array());
            s.optionReply(NBD_OPT_GO, NBD_REP_ACK, new byte[0]);
        }),
        HANG_UP_IN_THE_HANDSHAKE("the server closed the connection while waiting for the reply to option 8", s ->
            greet(s));

        final String message;
        final Server server;

        Refusal(final String message, final Server server)
        {
            this.message = message;
            this.server = server;
        }
    }

    @ParameterizedTest
    @EnumSource(Refusal.class)
    void shouldRefuseAHandshakeSayingWhatTheServerDid(final Refusal refusal) throws Exception
    {
        final FakeNbdServer.Options options = new FakeNbdServer.Options();
        options.raw = true;
        try (FakeNbdServer server = new FakeNbdServer(options, session ->
        {
            refusal.server.serve(session);
            session.out.flush();
        }))
        {
            assertThatThrownBy(() -> NbdConnection.connect(server.uri("disk"), 4))
                .isInstanceOf(NbdException.class)
                .hasMessageStartingWith(server.uri("disk") + ": ")
                .hasMessageContaining(refusal.message);
        }
    }

    @Test
    void shouldSayAnUnknownExportDoesNotExistQuotingTheServer() throws Exception
    {
        final FakeNbdServer.Options options = new FakeNbdServer.Options();
        options.export = "disk";
        try (FakeNbdServer server = new FakeNbdServer(options, FakeNbdServer.Session::awaitHangUp))
        {
            assertThatThrownBy(() -> NbdConnection.connect(server.uri("nosuch"), 4))
                .isInstanceOfSatisfying(NbdException.class, ex ->
                    assertThat(ex.optionReply()).isEqualTo(NbdConstants.NBD_REP_ERR_UNKNOWN))
                .hasMessageContaining("export 'nosuch' does not exist on the server: NBD_REP_ERR_UNKNOWN (server " +
                    "says: 'no such export')");
        }
    }

    @Test
    void shouldSayAnExportMayNotExistWhenAServerWithoutGoHangsUp() throws Exception
    {
        final FakeNbdServer.Options options = new FakeNbdServer.Options();
        options.export = "disk";
        options.go = false;
        try (FakeNbdServer server = new FakeNbdServer(options, FakeNbdServer.Session::awaitHangUp))
        {
            assertThatThrownBy(() -> NbdConnection.connect(server.uri("nosuch"), 4))
                .isInstanceOf(NbdException.class)
                .hasMessageContaining("export 'nosuch' does not exist or was refused: the server closed the " +
                    "connection after NBD_OPT_EXPORT_NAME");
        }
    }

    @Test
    void shouldGiveUpOnASilentServerAtTheHandshakeTimeout() throws Exception
    {
        final FakeNbdServer.Options options = new FakeNbdServer.Options();
        options.raw = true;
        try (FakeNbdServer server = new FakeNbdServer(options, FakeNbdServer.Session::awaitHangUp))
        {
            final long start = System.nanoTime();
            assertThatThrownBy(() -> NbdConnection.connect(server.uri(), 4, TimeUnit.MILLISECONDS.toNanos(300)))
                .isInstanceOf(NbdException.class)
                .hasMessageContaining("timed out reading the server's greeting");
            assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(10));
        }
    }

    @Test
    void shouldSayWhenNothingListensWhereTheUriPoints() throws Exception
    {
        final int port;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress()))
        {
            port = probe.getLocalPort();
        }
        assertThatThrownBy(() -> NbdConnection.connect(NbdUri.tcp("127.0.0.1", port, ""), 4))
            .isInstanceOf(NbdException.class)
            .hasMessageContaining("cannot connect")
            .hasMessageContaining("Connection refused");
        assertThatThrownBy(() -> NbdConnection.connect(NbdUri.unix(java.nio.file.Path.of("/nonexistent/nbd.sock"),
            ""), 4))
            .isInstanceOf(NbdException.class)
            .hasMessageContaining("nbd+unix:///?socket=/nonexistent/nbd.sock: cannot connect");
        assertThatThrownBy(() -> NbdConnection.connect(NbdUri.tcp("127.0.0.1", port, ""), 0))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("maxInFlight 0 is not in 1..4096");
    }

    private static void greet(final FakeNbdServer.Session session) throws Exception
    {
        session.out.writeLong(NBDMAGIC);
        session.out.writeLong(IHAVEOPT);
        session.out.writeShort(NBD_FLAG_FIXED_NEWSTYLE);
        session.out.flush();
        session.in.readInt();
        readOption(session);
    }

    private static void readOption(final FakeNbdServer.Session session) throws Exception
    {
        session.in.readLong();
        session.in.readInt();
        session.in.readFully(new byte[session.in.readInt()]);
    }
}
