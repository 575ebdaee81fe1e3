package org.dom0j.platform;

/**
 * Optional abilities a platform may lack. Backends advertise a protocol feature to guests only when the platform
 * has what it needs (QEMU's {@code xen_backend_ops} probes the same way).
 */
public enum PlatformFeature
{
    /** GNTTABOP_copy: copy to and from foreign grants without mapping them. */
    GRANT_COPY,
    /** Map several grant refs as one contiguous mapping (multi-page rings). */
    MULTI_PAGE_MAP,
    /** Clear a byte and/or notify a port when a mapping goes away. */
    UNMAP_NOTIFY,
    /** Share this domain's pages with another (gntshr), used by the self-test. */
    GRANT_SHARE,
    /** Privileged domain control: list, pause, unpause, destroy. */
    DOMAIN_CONTROL
}
