package org.dom0j.evtchn.jna;

import com.sun.jna.Pointer;
import org.dom0j.common.XenLibrary;

/**
 * The libxenevtchn calls a queue makes per request (notify, take the pending port, unmask), bound with JNA's direct
 * mapping: one JNI transition each, with no argument array, boxing or reflection (the {@link LibXenEvtchn}
 * interface's proxy allocated for every call). Bound when first used, which is after {@link XenEventChannels#open()}
 * has loaded the library. Return values as in xenevtchn.h; errno through {@code Native.getLastError()}.
 */
final class EvtchnDirect
{
    static
    {
        XenLibrary.EVTCHN.register(EvtchnDirect.class);
    }

    private EvtchnDirect()
    {
    }

    static native int xenevtchn_notify(Pointer xce, int port);

    static native int xenevtchn_pending(Pointer xce);

    static native int xenevtchn_unmask(Pointer xce, int port);
}
