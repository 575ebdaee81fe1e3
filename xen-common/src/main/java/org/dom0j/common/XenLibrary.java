package org.dom0j.common;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;

import java.util.Map;

/**
 * One of Xen's C libraries as Debian 12 ships it: its versioned soname, the Debian package that carries it, and a
 * way to load it through JNA. Loading is lazy and happens once per binding; a library that cannot be found is
 * reported as one sentence that names the package to install.
 * <p>
 * Immutable; any thread.
 */
public enum XenLibrary
{
    /** Grant tables: libxengnttab (gnttab and gntshr). */
    GNTTAB("xengnttab", "libxengnttab.so.1", "libxengnttab1"),
    /** Event channels: libxenevtchn. */
    EVTCHN("xenevtchn", "libxenevtchn.so.1", "libxenevtchn1"),
    /** Domain control: libxenctrl (version-locked to the hypervisor). */
    CTRL("xenctrl", "libxenctrl.so.4.17", "libxenmisc4.17"),
    /** Foreign memory mapping: libxenforeignmemory. */
    FOREIGNMEMORY("xenforeignmemory", "libxenforeignmemory.so.1", "libxenforeignmemory1"),
    /** The toolstack library: libxenlight (libxl), version-locked to the hypervisor like libxenctrl. */
    LIGHT("xenlight", "libxenlight.so.4.17", "libxenmisc4.17"),
    /** Xen's tools' logging: libxentoollog (libxl's logger). */
    TOOLLOG("xentoollog", "libxentoollog.so.1", "libxentoollog1");

    private final String shortName;
    private final String soname;
    private final String debianPackage;

    XenLibrary(final String shortName, final String soname, final String debianPackage)
    {
        this.shortName = shortName;
        this.soname = soname;
        this.debianPackage = debianPackage;
    }

    /**
     * @return the soname dom0j loads, e.g. "libxengnttab.so.1".
     */
    public String soname()
    {
        return soname;
    }

    /**
     * @return the Debian 12 package that ships it.
     */
    public String debianPackage()
    {
        return debianPackage;
    }

    /**
     * Is the library loadable here? Does not call into it.
     *
     * @return null when it loads, otherwise one sentence saying what is missing and what to install.
     */
    public String probe()
    {
        return null == nativeLibrary() ? missing() : null;
    }

    /**
     * @return the library, by versioned soname first and by its short name second, or null when neither loads.
     */
    private NativeLibrary nativeLibrary()
    {
        try
        {
            return NativeLibrary.getInstance(soname);
        }
        catch (final UnsatisfiedLinkError versioned)
        {
            try
            {
                return NativeLibrary.getInstance(shortName);
            }
            catch (final UnsatisfiedLinkError unversioned)
            {
                return null;
            }
        }
    }

    private String missing()
    {
        return soname + " cannot be loaded (install Debian package " + debianPackage + ")";
    }

    /**
     * Binds the static native methods of a class to this library with JNA's direct mapping, by versioned soname
     * first and by its short name second: a call is then one JNI transition with its arguments as they are, without
     * the interface proxy's reflection, argument array and boxing. For the calls made per request.
     *
     * @param natives the class whose {@code static native} methods are this library's functions.
     * @throws XenException with ENOENT when the library cannot be loaded.
     */
    public void register(final Class<?> natives)
    {
        final NativeLibrary library = nativeLibrary();
        if (null == library)
        {
            throw new XenException(Errno.ENOENT.number(), missing());
        }
        Native.register(natives, library);
    }

    /**
     * Binds a JNA interface to this library, by versioned soname first and by its short name second.
     *
     * @param bindings the JNA interface.
     * @param <T>      its type.
     * @return the binding.
     * @throws XenException with ENOENT when the library cannot be loaded.
     */
    public <T extends Library> T load(final Class<T> bindings)
    {
        try
        {
            return Native.load(soname, bindings, Map.of());
        }
        catch (final UnsatisfiedLinkError versioned)
        {
            try
            {
                return Native.load(shortName, bindings, Map.of());
            }
            catch (final UnsatisfiedLinkError unversioned)
            {
                throw new XenException(Errno.ENOENT.number(), missing(), versioned);
            }
        }
    }
}
