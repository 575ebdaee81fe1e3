package org.dom0j.evtchn.jna;

import org.dom0j.common.XenLibrary;

/**
 * The libxenevtchn calls a queue makes per request (notify, take the pending port, unmask), bound with JNA's direct
 * mapping: one JNI transition each, with no argument array, boxing or reflection (the {@link LibXenEvtchn}
 * interface's proxy allocated for every call). Bound when first used, which is after {@link XenEventChannels#open()}
 * has loaded the library. The handle is passed as its address, a {@code long}: every argument a primitive, so the
 * call converts nothing (a {@code Pointer} is read out of its object on each call). Return values as in
 * xenevtchn.h; errno through {@code Native.getLastError()}.
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

    static native int xenevtchn_notify(long xce, int port);

    static native int xenevtchn_pending(long xce);

    static native int xenevtchn_unmask(long xce, int port);
}
