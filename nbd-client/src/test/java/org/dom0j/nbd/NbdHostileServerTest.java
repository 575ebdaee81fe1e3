package org.dom0j.nbd;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.dom0j.nbd.NbdConstants.EIO;
import static org.dom0j.nbd.NbdConstants.NBD_REPLY_FLAG_DONE;
import static org.dom0j.nbd.NbdConstants.NBD_REPLY_TYPE_ERROR;
import static org.dom0j.nbd.NbdConstants.NBD_REPLY_TYPE_ERROR_OFFSET;
import static org.dom0j.nbd.NbdConstants.NBD_REPLY_TYPE_NONE;
import static org.dom0j.nbd.NbdConstants.NBD_REPLY_TYPE_OFFSET_DATA;
import static org.dom0j.nbd.NbdConstants.NBD_REPLY_TYPE_OFFSET_HOLE;

/**
 * A server that breaks the protocol, one rule per case. Three requests are in flight: read A (64 KiB at 0), read B
 * (4 KiB at 64 KiB) and write C. The server first answers C as it should (unless the rule broken is about C), then
 * breaks a rule answering A.
 * Every case must end with the connection broken, saying why, every request not already answered completed with
 * EIO, and no exception out of the client.
 */
@Timeout(30)
class NbdHostileServerTest
{
    static final int A_LENGTH = 65536;
    static final int B_LENGTH = 4096;

    /** The three requests as the server got them. */
    record Requests(FakeNbdServer.Request a, FakeNbdServer.Request b, FakeNbdServer.Request c)
    {
    }

    @FunctionalInterface
    interface Breach
    {
        void send(FakeNbdServer.Session session, Requests requests) throws Exception;
    }

    enum Violation
    {
        CHUNK_PAST_THE_END_OF_THE_REQUEST("outside its request", (s, r) ->
            s.data(r.a.cookie(), A_LENGTH - 512, new byte[1024], true)),
        CHUNK_BEFORE_THE_REQUEST("outside its request", (s, r) ->
            s.data(r.b.cookie(), A_LENGTH - 512, new byte[1024], true)),
        CHUNK_AT_A_NEGATIVE_OFFSET("outside its request", (s, r) ->
            s.data(r.a.cookie(), -512, new byte[512], true)),
        DATA_LONGER_THAN_THE_REQUEST("outside its request", (s, r) ->
            s.data(r.a.cookie(), 0, new byte[A_LENGTH + 512], true)),
        UNKNOWN_COOKIE("answers no request in flight", (s, r) ->
            s.data(0xdeadbeefL, 0, new byte[512], true)),
        UNKNOWN_COOKIE_IN_A_SIMPLE_REPLY("answers no request in flight", (s, r) ->
            s.simple(r.c.cookie() + 1, 0, null)),
        BAD_MAGIC("bad reply magic 0x12345678", (s, r) ->
        {
            s.out.writeInt(0x12345678);
            s.out.write(new byte[16]);
            s.out.flush();
        }),
        DONE_BEFORE_ALL_THE_DATA("after 32768 of its 65536 bytes", (s, r) ->
            s.data(r.a.cookie(), 0, new byte[32768], true)),
        OVERLAPPING_CHUNKS("overlapping an earlier one", (s, r) ->
        {
            s.data(r.a.cookie(), 0, new byte[32768], false);
            s.data(r.a.cookie(), 16384, new byte[32768], true);
        }),
        HOLE_OVERLAPPING_DATA("overlapping an earlier one", (s, r) ->
        {
            s.data(r.a.cookie(), 0, new byte[32768], false);
            s.hole(r.a.cookie(), 0, A_LENGTH, true);
        }),
        NONE_WITHOUT_DONE("a NONE chunk must have no payload and the DONE flag", (s, r) ->
            s.chunk(0, NBD_REPLY_TYPE_NONE, r.a.cookie(), new byte[0])),
        NONE_WITH_A_PAYLOAD("a NONE chunk must have no payload", (s, r) ->
            s.chunk(NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_NONE, r.a.cookie(), new byte[4])),
        NONE_TO_A_READ_WITHOUT_DATA("after 0 of its 65536 bytes", (s, r) -> s.none(r.a.cookie())),
        SIMPLE_REPLY_WITH_DATA_AFTER_STRUCTURED_WAS_AGREED("a simple reply with data to a read", (s, r) ->
            s.simple(r.a.cookie(), 0, new byte[A_LENGTH])),
        HOLE_OF_THE_WRONG_LENGTH("an OFFSET_HOLE chunk of 16 bytes", (s, r) ->
            s.chunk(NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_OFFSET_HOLE, r.a.cookie(), new byte[16])),
        HOLE_OF_SIZE_ZERO("outside its request", (s, r) -> s.hole(r.a.cookie(), 0, 0, true)),
        DATA_CHUNK_WITHOUT_DATA("an OFFSET_DATA chunk of 8 bytes", (s, r) ->
            s.chunk(NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_OFFSET_DATA, r.a.cookie(), new byte[8])),
        DATA_TO_A_WRITE("an OFFSET_DATA chunk to a request that is not a read", (s, r) ->
            s.data(r.c.cookie(), 0, new byte[512], true)),
        UNKNOWN_CHUNK_TYPE("unknown structured reply type 5", (s, r) ->
            s.chunk(NBD_REPLY_FLAG_DONE, 5, r.a.cookie(), new byte[12])),
        ERROR_ZERO("an error chunk with error 0", (s, r) -> s.error(r.a.cookie(), 0, "fine")),
        ERROR_MESSAGE_LONGER_THAN_THE_CHUNK("does not fit in it", (s, r) ->
        {
            final ByteBuffer payload = ByteBuffer.allocate(10).putInt(5).putShort((short)100);
            s.chunk(NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR, r.a.cookie(), payload.array());
        }),
        ERROR_CHUNK_TOO_SHORT("an error chunk of 4 bytes", (s, r) ->
            s.chunk(NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR, r.a.cookie(), new byte[4])),
        ERROR_OFFSET_OUTSIDE_THE_REQUEST("an ERROR_OFFSET chunk at 131072, outside its request", (s, r) ->
            s.error(r.a.cookie(), NBD_REPLY_TYPE_ERROR_OFFSET, 5, "bad sector",
                ByteBuffer.allocate(8).putLong(131072).array(), true)),
        HUGE_CONTROL_CHUNK("with 1048576 bytes of payload", (s, r) ->
        {
            s.out.writeInt(NbdDescriptor.STRUCTURED_REPLY_MAGIC);
            s.out.writeShort(NBD_REPLY_FLAG_DONE);
            s.out.writeShort(NBD_REPLY_TYPE_ERROR);
            s.out.writeLong(r.a.cookie());
            s.out.writeInt(1 << 20);
            s.out.flush();
        }),
        SECOND_REPLY_AFTER_DONE("answers no request in flight", (s, r) ->
        {
            s.data(r.a.cookie(), 0, pattern(A_LENGTH), true);
            s.data(r.a.cookie(), 0, new byte[512], true);
        }),
        HANG_UP_IN_THE_MIDDLE_OF_DATA("in the middle of a reply", (s, r) ->
        {
            s.out.writeInt(NbdDescriptor.STRUCTURED_REPLY_MAGIC);
            s.out.writeShort(NBD_REPLY_FLAG_DONE);
            s.out.writeShort(NBD_REPLY_TYPE_OFFSET_DATA);
            s.out.writeLong(r.a.cookie());
            s.out.writeInt(8 + A_LENGTH);
            s.out.writeLong(0);
            s.out.write(new byte[1000]);
            s.out.flush();
            throw new java.io.IOException("hanging up");
        }),
        HANG_UP_IN_THE_MIDDLE_OF_A_HEADER("in the middle of a reply", (s, r) ->
        {
            s.out.writeInt(NbdDescriptor.STRUCTURED_REPLY_MAGIC);
            s.out.writeShort(0);
            s.out.flush();
            throw new java.io.IOException("hanging up");
        }),
        HANG_UP("the server closed the connection", (s, r) ->
        {
            throw new java.io.IOException("hanging up");
        });

        final String reason;
        final Breach breach;

        Violation(final String reason, final Breach breach)
        {
            this.reason = reason;
            this.breach = breach;
        }
    }

    @ParameterizedTest
    @EnumSource(Violation.class)
    void shouldBreakTheConnectionAndFailEveryRequestInFlightWithEio(final Violation violation) throws Exception
    {
        final FakeNbdServer.Options options = new FakeNbdServer.Options();
        try (FakeNbdServer server = new FakeNbdServer(options, session ->
        {
            final Requests requests = new Requests(session.readRequest(), session.readRequest(), session.readRequest());
            if (violation != Violation.DATA_TO_A_WRITE)
            {
                session.simple(requests.c.cookie(), 0, null);
            }
            violation.breach.send(session, requests);
            session.awaitHangUp();
        }))
        {
            final NativeMemory memory = new NativeMemory(A_LENGTH + 2 * B_LENGTH);
            memory.fill(0, A_LENGTH + 2 * B_LENGTH, (byte)0xC3);
            final Completions completions = new Completions();
            try (NbdConnection nbd = NbdConnection.connect(server.uri(), 4))
            {
                assertThat(nbd.submitRead('A', 0, A_LENGTH, memory.address)).isTrue();
                assertThat(nbd.submitRead('B', A_LENGTH, B_LENGTH, memory.address + A_LENGTH)).isTrue();
                assertThat(nbd.submitWrite('C', 0, B_LENGTH, memory.address + A_LENGTH + B_LENGTH, false))
                    .isTrue();
                nbd.flushSends();
                completions.awaitCount(nbd, 3);

                assertThat(nbd.isBroken()).isTrue();
                assertThat(nbd.brokenReason()).contains(violation.reason);
                assertThat(nbd.inFlight()).isZero();
                assertThat(nbd.awaitCompletion(completions, TimeUnit.MILLISECONDS.toNanos(10))).isZero();
            }

            assertThat(completions.errno('B')).isEqualTo(EIO);
            assertThat(completions.errno('C')).isEqualTo(violation == Violation.DATA_TO_A_WRITE ? EIO : 0);
            if (violation == Violation.SECOND_REPLY_AFTER_DONE)
            {
                assertThat(completions.errno('A')).as("answered in full before the breach").isZero();
                assertThat(memory.bytes(0, A_LENGTH)).isEqualTo(pattern(A_LENGTH));
            }
            else
            {
                assertThat(completions.errno('A')).isEqualTo(EIO);
            }
            assertThat(memory.bytes(A_LENGTH, B_LENGTH)).as("B's memory, which no chunk was for").containsOnly(0xC3);
        }
    }

    static byte[] pattern(final int length)
    {
        final byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)(i * 31 + 7);
        }
        return bytes;
    }
}
