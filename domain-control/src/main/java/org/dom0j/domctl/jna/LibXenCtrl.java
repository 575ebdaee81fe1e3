package org.dom0j.domctl.jna;

import com.sun.jna.Library;
import com.sun.jna.Pointer;

/**
 * JNA binding of libxenctrl.so.4.17 (the few calls dom0j needs), and the layout of {@code xc_domaininfo_t},
 * which in Xen 4.17 is {@code struct xen_domctl_getdomaininfo} (xen/domctl.h, x86_64):
 * <pre>
 *    0 domid_t  domain          2 u16 pad1              4 u32 flags (XEN_DOMINF_*; shutdown code in bits 16-23)
 *    8 u64 tot_pages           16 u64 max_pages        24 u64 outstanding_pages   32 u64 shr_pages
 *   40 u64 paged_pages         48 u64 shared_info_frame 56 u64 cpu_time (ns)
 *   64 u32 nr_online_vcpus     68 u32 max_vcpu_id      72 u32 ssidref  76 u8 handle[16]  92 u32 cpupool
 *   96 u8 gpaddr_bits          97 u8 pad2[7]          104 struct xen_arch_domainconfig (u32 emulation_flags,
 *                                                         u32 misc_flags)                      sizeof 112
 * </pre>
 * Package-private; the test {@code XcDomainInfoLayoutTest} compiles a C program to check these numbers.
 */
interface LibXenCtrl extends Library
{
    int INFO_LENGTH = 112;
    int INFO_DOMAIN = 0;
    int INFO_FLAGS = 4;
    int INFO_TOT_PAGES = 8;
    int INFO_MAX_PAGES = 16;
    int INFO_CPU_TIME = 56;
    int INFO_NR_ONLINE_VCPUS = 64;
    int INFO_MAX_VCPU_ID = 68;

    int XEN_DOMINF_DYING = 1;
    int XEN_DOMINF_HVM_GUEST = 1 << 1;
    int XEN_DOMINF_SHUTDOWN = 1 << 2;
    int XEN_DOMINF_PAUSED = 1 << 3;
    int XEN_DOMINF_BLOCKED = 1 << 4;
    int XEN_DOMINF_RUNNING = 1 << 5;
    int XEN_DOMINF_SHUTDOWNSHIFT = 16;
    int XEN_DOMINF_SHUTDOWNMASK = 255;

    Pointer xc_interface_open(Pointer logger, Pointer dombuildLogger, int openFlags);

    int xc_interface_close(Pointer xch);

    int xc_domain_getinfolist(Pointer xch, int firstDomain, int maxDomains, Pointer info);

    int xc_domain_pause(Pointer xch, int domid);

    int xc_domain_unpause(Pointer xch, int domid);

    int xc_domain_destroy(Pointer xch, int domid);
}
