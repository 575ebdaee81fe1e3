package org.dom0j.domctl.jna;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;
import org.dom0j.common.Errno;
import org.dom0j.common.XenException;
import org.dom0j.common.XenLibrary;
import org.dom0j.domctl.DomainControlException;
import org.dom0j.domctl.Libxl;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * libxl on real Xen, through Debian's libxenlight 4.17: a context with a stdio logger on standard error (as xl
 * has), libxl reaping only the children it forks itself (hotplug scripts), and {@link #createDomain} as
 * {@code xl create} calls libxl: {@code libxl_domain_config_init}, {@code _from_json},
 * {@code libxl_domain_create_new} synchronously (no ao_how), {@code _dispose}. The one public entry point of this
 * package for libxl is {@link #open(int)}.
 * <p>
 * libxl's error codes are negative {@code ERROR_*} values (libxl_types.idl: -3 ERROR_FAIL, -6 ERROR_INVAL, ...);
 * they become a {@link DomainControlException} with EIO and the code in the message, libxl's logger having said
 * why.
 * <p>
 * Threads: one thread at a time.
 */
public final class XenLibxl implements Libxl
{
    private static volatile LibXenLight light;
    private static volatile LibXenToolLog toolLog;

    private final LibXenLight xl;
    private final LibXenToolLog log;
    private final Pointer logger;
    private final Pointer ctx;
    private final Memory hooks;
    private final AtomicBoolean closed = new AtomicBoolean();

    private XenLibxl(final LibXenLight xl, final LibXenToolLog log, final Pointer logger, final Pointer ctx,
        final Memory hooks)
    {
        this.xl = xl;
        this.log = log;
        this.logger = logger;
        this.ctx = ctx;
        this.hooks = hooks;
    }

    /**
     * Allocates a libxl context (it opens privcmd, xenstore and the event channel device).
     *
     * @param verbosity 0 for warnings and errors, 1 for libxl's info messages too, 2 and more for detail.
     * @return the context.
     * @throws DomainControlException when the libraries cannot be loaded or libxl cannot start here.
     */
    public static Libxl open(final int verbosity)
    {
        final LibXenLight l = light();
        final LibXenToolLog t = toolLog();
        final Pointer stderr = NativeLibrary.getInstance("c").getGlobalVariableAddress("stderr").getPointer(0);
        final int level = verbosity <= 0 ? LibXenToolLog.XTL_WARN :
            verbosity == 1 ? LibXenToolLog.XTL_INFO : LibXenToolLog.XTL_DETAIL;
        final Pointer logger = t.xtl_createlogger_stdiostream(stderr, level,
            LibXenToolLog.XTL_STDIOSTREAM_HIDE_PROGRESS);
        if (null == logger)
        {
            throw new DomainControlException(Native.getLastError(), "cannot create libxl's logger");
        }
        final PointerByReference pctx = new PointerByReference();
        final int rc = l.libxl_ctx_alloc(pctx, LibXenLight.LIBXL_VERSION, 0, logger);
        if (rc != 0 || null == pctx.getValue())
        {
            t.xtl_logger_destroy(logger);
            throw new DomainControlException(Errno.ENOENT.number(), "cannot start libxl (libxl_ctx_alloc returned " +
                rc + "): is this a Xen dom0 with xenstored running? (libxl said why above)");
        }
        final Memory hooks = new Memory(LibXenLight.CHILDPROC_HOOKS_LENGTH);
        hooks.clear();
        hooks.setInt(0, LibXenLight.SIGCHLD_OWNER_LIBXL_ALWAYS_SELECTIVE_REAP);
        l.libxl_childproc_setmode(pctx.getValue(), hooks, null);
        return new XenLibxl(l, t, logger, pctx.getValue(), hooks);
    }

    private static LibXenLight light()
    {
        LibXenLight l = light;
        if (null == l)
        {
            try
            {
                l = XenLibrary.LIGHT.load(LibXenLight.class);
            }
            catch (final XenException ex)
            {
                throw new DomainControlException(ex.errno(), ex.getMessage());
            }
            light = l;
        }
        return l;
    }

    private static LibXenToolLog toolLog()
    {
        LibXenToolLog t = toolLog;
        if (null == t)
        {
            try
            {
                t = XenLibrary.TOOLLOG.load(LibXenToolLog.class);
            }
            catch (final XenException ex)
            {
                throw new DomainControlException(ex.errno(), ex.getMessage());
            }
            toolLog = t;
        }
        return t;
    }

    @Override
    public int createDomain(final String domainConfigJson)
    {
        checkOpen();
        final Memory config = new Memory(LibXenLight.DOMAIN_CONFIG_ALLOCATION);
        config.clear();
        xl.libxl_domain_config_init(config);
        try
        {
            int rc = xl.libxl_domain_config_from_json(ctx, config, domainConfigJson);
            if (rc != 0)
            {
                throw new DomainControlException(Errno.EINVAL.number(), "libxl refused the domain configuration " +
                    "(libxl_domain_config_from_json: " + rc + ")");
            }
            final IntByReference domid = new IntByReference(-1);
            rc = xl.libxl_domain_create_new(ctx, config, domid, null, null);
            if (rc != 0)
            {
                throw new DomainControlException(Errno.EIO.number(), "libxl could not create the domain " +
                    "(libxl_domain_create_new: " + rc + "; libxl said why above)");
            }
            return domid.getValue();
        }
        finally
        {
            xl.libxl_domain_config_dispose(config);
        }
    }

    @Override
    public void unpause(final int domid)
    {
        checkOpen();
        final int rc = xl.libxl_domain_unpause(ctx, domid, null);
        if (rc != 0)
        {
            throw new DomainControlException(Errno.EIO.number(), "unpause domain " + domid +
                " (libxl_domain_unpause: " + rc + ")");
        }
    }

    @Override
    public void destroy(final int domid)
    {
        checkOpen();
        final int rc = xl.libxl_domain_destroy(ctx, domid, null);
        if (rc != 0)
        {
            throw new DomainControlException(Errno.EIO.number(), "destroy domain " + domid +
                " (libxl_domain_destroy: " + rc + "; libxl said why above)");
        }
    }

    @Override
    public void coreDump(final int domid, final String file)
    {
        checkOpen();
        final int rc = xl.libxl_domain_core_dump(ctx, domid, file, null);
        if (rc != 0)
        {
            throw new DomainControlException(Errno.EIO.number(), "dump the core of domain " + domid + " to " + file +
                " (libxl_domain_core_dump: " + rc + "; libxl said why above)");
        }
    }

    @Override
    public void close()
    {
        if (closed.compareAndSet(false, true))
        {
            xl.libxl_ctx_free(ctx);
            log.xtl_logger_destroy(logger);
            // The hooks must outlive the context, which keeps a pointer to them.
            hooks.close();
        }
    }

    private void checkOpen()
    {
        if (closed.get())
        {
            throw new DomainControlException(Errno.EBADF.number(), "libxl context is closed");
        }
    }
}
