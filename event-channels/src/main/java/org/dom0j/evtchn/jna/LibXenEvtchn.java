package org.dom0j.evtchn.jna;

import com.sun.jna.Library;
import com.sun.jna.Pointer;

/**
 * JNA binding of libxenevtchn.so.1 (Xen 4.17's xenevtchn.h). Waiting with a timeout is poll(2) on its fd, through
 * linux-native's {@code PollFd}. Package-private: nothing outside this package sees a JNA type.
 */
interface LibXenEvtchn extends Library
{
    Pointer xenevtchn_open(Pointer logger, int openFlags);

    int xenevtchn_close(Pointer xce);

    int xenevtchn_fd(Pointer xce);

    int xenevtchn_notify(Pointer xce, int port);

    int xenevtchn_bind_unbound_port(Pointer xce, int domid);

    int xenevtchn_bind_interdomain(Pointer xce, int domid, int remotePort);

    int xenevtchn_unbind(Pointer xce, int port);

    int xenevtchn_pending(Pointer xce);

    int xenevtchn_unmask(Pointer xce, int port);
}
