package org.dom0j.linux;

import org.dom0j.common.Errno;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Epoll with eventfds as the descriptors it watches; EventFd's counter and PollFd along the way.
 */
@Timeout(60)
class EpollTest
{
    private static final long FIRST = 0x1234_5678_9abc_def0L;
    private static final long SECOND = -2L;

    @Test
    void shouldReportTheDescriptorThatBecameReadableWithItsUserValue()
    {
        try (Epoll epoll = Epoll.open(4); EventFd first = EventFd.open(); EventFd second = EventFd.open())
        {
            epoll.add(first.fd(), Epoll.EPOLLIN, FIRST);
            epoll.add(second.fd(), Epoll.EPOLLIN, SECOND);
            assertThat(epoll.await(0)).isZero();

            assertThat(second.signal()).isZero();

            assertThat(epoll.await(10_000)).isEqualTo(1);
            assertThat(epoll.events(0)).isEqualTo(Epoll.EPOLLIN);
            assertThat(epoll.data(0)).isEqualTo(SECOND);
            assertThat(second.drain()).isEqualTo(1);
            assertThat(epoll.await(0)).isZero();

            first.signal();
            second.signal();
            assertThat(epoll.await(10_000)).isEqualTo(2);
            assertThat(new long[]{ epoll.data(0), epoll.data(1) }).containsExactlyInAnyOrder(FIRST, SECOND);
        }
    }

    @Test
    void shouldReportNoMoreEventsThanItsArrayHolds()
    {
        try (Epoll epoll = Epoll.open(1); EventFd first = EventFd.open(); EventFd second = EventFd.open())
        {
            epoll.add(first.fd(), Epoll.EPOLLIN, 1);
            epoll.add(second.fd(), Epoll.EPOLLIN, 2);
            first.signal();
            second.signal();

            assertThat(epoll.await(10_000)).isEqualTo(1);
        }
    }

    @Test
    void shouldChangeTheUserValueOnModifyAndForgetTheDescriptorOnDelete()
    {
        try (Epoll epoll = Epoll.open(4); EventFd eventFd = EventFd.open())
        {
            epoll.add(eventFd.fd(), Epoll.EPOLLIN, FIRST);
            eventFd.signal();
            epoll.modify(eventFd.fd(), Epoll.EPOLLIN, SECOND);

            assertThat(epoll.await(10_000)).isEqualTo(1);
            assertThat(epoll.data(0)).isEqualTo(SECOND);

            epoll.delete(eventFd.fd());
            assertThat(epoll.await(0)).isZero();
        }
    }

    @Test
    void shouldThrowWithTheErrnoWhenADescriptorIsAddedTwiceOrDeletedUnknown()
    {
        try (Epoll epoll = Epoll.open(4); EventFd eventFd = EventFd.open())
        {
            epoll.add(eventFd.fd(), Epoll.EPOLLIN, 0);

            assertThatThrownBy(() -> epoll.add(eventFd.fd(), Epoll.EPOLLIN, 0))
                .isInstanceOfSatisfying(LinuxException.class, ex ->
                    assertThat(ex.errno()).isEqualTo(Errno.EEXIST.number()));
            epoll.delete(eventFd.fd());
            assertThatThrownBy(() -> epoll.delete(eventFd.fd()))
                .isInstanceOfSatisfying(LinuxException.class, ex ->
                    assertThat(ex.errno()).isEqualTo(Errno.ENOENT.number()));
        }
    }

    @Test
    void shouldWaitWithoutAllocating()
    {
        try (Epoll epoll = Epoll.open(4); EventFd eventFd = EventFd.open())
        {
            epoll.add(eventFd.fd(), Epoll.EPOLLIN, FIRST);

            final long[] leastAndSum = LinuxTest.leastAllocatedPerRound(20_000, () -> cycle(epoll, eventFd));

            assertThat(leastAndSum[1]).isEqualTo(LinuxTest.ROUNDS * 20_000L * (1 + FIRST + 1));
            assertThat(leastAndSum[0]).isLessThan(1024);
        }
    }

    private static long cycle(final Epoll epoll, final EventFd eventFd)
    {
        eventFd.signal();
        final int ready = epoll.await(1_000);
        final long data = ready > 0 ? epoll.data(0) : 0;
        return ready + data + eventFd.drain() + epoll.await(0);
    }

    @Test
    void shouldCountSignalsUntilDrained()
    {
        try (EventFd eventFd = EventFd.open())
        {
            assertThat(eventFd.drain()).isZero();
            eventFd.signal();
            eventFd.signal();
            eventFd.signal();

            assertThat(eventFd.drain()).isEqualTo(3);
            assertThat(eventFd.drain()).isZero();
        }
    }

    @Test
    void shouldPollOneDescriptor()
    {
        try (EventFd eventFd = EventFd.open())
        {
            final PollFd pollFd = new PollFd(eventFd.fd(), Linux.POLLIN);
            assertThat(pollFd.poll(0)).isZero();

            eventFd.signal();

            assertThat(pollFd.poll(10_000)).isEqualTo(1);
            assertThat(pollFd.revents() & Linux.POLLIN).isEqualTo(Linux.POLLIN);
        }
    }

    @Test
    void shouldPollSeveralDescriptorsAndSayWhichIsReady()
    {
        try (EventFd first = EventFd.open(); EventFd second = EventFd.open())
        {
            final PollFd pollFd = new PollFd(new int[]{ first.fd(), second.fd() }, Linux.POLLIN);
            assertThat(pollFd.poll(0)).isZero();

            second.signal();

            assertThat(pollFd.poll(10_000)).isEqualTo(1);
            assertThat(pollFd.revents(0) & Linux.POLLIN).isZero();
            assertThat(pollFd.revents(1) & Linux.POLLIN).isEqualTo(Linux.POLLIN);
        }
    }
}
