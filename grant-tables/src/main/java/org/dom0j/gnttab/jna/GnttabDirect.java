package org.dom0j.gnttab.jna;

import org.dom0j.common.XenLibrary;

/**
 * The libxengnttab call a queue makes per batch of requests (the grant copy), bound with JNA's direct mapping: one
 * JNI transition with the handle's and the segments' addresses as {@code long}s (every argument a primitive: the
 * call converts nothing), with no argument array, boxing or reflection (the
 * {@link LibXenGnttab} interface's proxy allocated for every call). Bound when first used, which is after
 * {@link XenGrantTables#open()} has loaded the library. Returns as xengnttab.h says; errno through
 * {@code Native.getLastError()}.
 */
final class GnttabDirect
{
    static
    {
        XenLibrary.GNTTAB.register(GnttabDirect.class);
    }

    private GnttabDirect()
    {
    }

    static native int xengnttab_grant_copy(long xgt, int count, long segments);
}
