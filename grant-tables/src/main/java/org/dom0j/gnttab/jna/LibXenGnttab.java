package org.dom0j.gnttab.jna;

import com.sun.jna.Library;
import com.sun.jna.Pointer;

/**
 * JNA binding of libxengnttab.so.1 (Xen 4.17's xengnttab.h): the gnttab half (gntdev) and the gntshr half
 * (gntalloc). Package-private: nothing outside this package sees a JNA type.
 */
interface LibXenGnttab extends Library
{
    int PROT_READ = 1;
    int PROT_WRITE = 2;

    /** GNTCOPY_source_gref: the source of a copy segment is a grant. */
    int GNTCOPY_SOURCE_GREF = 1;
    /** GNTCOPY_dest_gref: the destination of a copy segment is a grant. */
    int GNTCOPY_DEST_GREF = 2;

    /** sizeof(xengnttab_grant_copy_segment_t). */
    int SEGMENT_LENGTH = 24;
    /** offsetof(.source); for a grant: u32 ref at +0, u16 offset at +4, u16 domid at +6; else void *virt. */
    int SEGMENT_SOURCE = 0;
    /** offsetof(.dest). */
    int SEGMENT_DEST = 8;
    /** offsetof(.len), u16. */
    int SEGMENT_LEN = 16;
    /** offsetof(.flags), u16. */
    int SEGMENT_FLAGS = 18;
    /** offsetof(.status), s16. */
    int SEGMENT_STATUS = 20;
    /** Within a grant pointer: ref (u32), offset (u16), domid (u16). */
    int FOREIGN_REF = 0;
    int FOREIGN_OFFSET = 4;
    int FOREIGN_DOMID = 6;

    Pointer xengnttab_open(Pointer logger, int openFlags);

    int xengnttab_close(Pointer xgt);

    int xengnttab_fd(Pointer xgt);

    Pointer xengnttab_map_domain_grant_refs(Pointer xgt, int count, int domid, int[] refs, int prot);

    Pointer xengnttab_map_grant_ref_notify(
        Pointer xgt, int domid, int ref, int prot, int notifyOffset, int notifyPort);

    int xengnttab_unmap(Pointer xgt, Pointer startAddress, int count);

    int xengnttab_set_max_grants(Pointer xgt, int count);

    int xengnttab_grant_copy(Pointer xgt, int count, Pointer segments);

    Pointer xengntshr_open(Pointer logger, int openFlags);

    int xengntshr_close(Pointer xgs);

    Pointer xengntshr_share_pages(Pointer xgs, int domid, int count, int[] refs, int writable);

    int xengntshr_unshare(Pointer xgs, Pointer startAddress, int count);
}
