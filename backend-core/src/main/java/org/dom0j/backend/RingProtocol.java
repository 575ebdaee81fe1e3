package org.dom0j.backend;

/**
 * The guest ABIs a frontend may name in its {@code protocol} node ({@code XEN_IO_PROTO_ABI_*} of
 * {@code xen/include/public/io/protocols.h}); ring layouts differ between them (x86_32 blkif requests are packed
 * differently from x86_64 ones).
 * <p>
 * Immutable: any thread.
 */
public enum RingProtocol
{
    /** "x86_32-abi". */
    X86_32("x86_32-abi"),
    /** "x86_64-abi". */
    X86_64("x86_64-abi"),
    /** "arm-abi". */
    ARM("arm-abi");

    private final String wireName;

    RingProtocol(final String wireName)
    {
        this.wireName = wireName;
    }

    /**
     * @return the name as written in xenstore.
     */
    public String wireName()
    {
        return wireName;
    }

    /**
     * @param name a {@code protocol} value.
     * @return the protocol, or null when it is none of them.
     */
    public static RingProtocol ofWireName(final String name)
    {
        for (final RingProtocol p : values())
        {
            if (p.wireName.equals(name))
            {
                return p;
            }
        }
        return null;
    }
}
