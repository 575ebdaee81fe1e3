package org.dom0j.domctl.jna;

import com.sun.jna.Library;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;

/**
 * JNA binding of libxenlight.so.4.17 (libxl), the calls {@code xl create} makes, and the sizes it needs
 * (x86_64, Xen 4.17; {@code LibxlLayoutTest} compiles a C program against {@code libxl.h} to check them):
 * {@code libxl_domain_config} is 1288 bytes (allocated as {@link #DOMAIN_CONFIG_ALLOCATION}, zeroed);
 * {@code libxl_childproc_hooks} is {@code { int chldowner; pid_t (*fork_replacement)(void *); }} in 24 bytes.
 * Package-private.
 */
interface LibXenLight extends Library
{
    /** libxl.h's LIBXL_VERSION: the version of the context API. */
    int LIBXL_VERSION = 0;
    /** More than sizeof(libxl_domain_config) (1288 in 4.17), so that a later 4.17.x may grow it. */
    int DOMAIN_CONFIG_ALLOCATION = 4096;
    /** sizeof(libxl_childproc_hooks). */
    int CHILDPROC_HOOKS_LENGTH = 24;
    /** libxl_sigchld_owner_libxl_always_selective_reap: libxl reaps only its own children (the JVM has others). */
    int SIGCHLD_OWNER_LIBXL_ALWAYS_SELECTIVE_REAP = 3;

    int libxl_ctx_alloc(PointerByReference pctx, int version, int flags, Pointer logger);

    int libxl_ctx_free(Pointer ctx);

    void libxl_childproc_setmode(Pointer ctx, Pointer hooks, Pointer user);

    void libxl_domain_config_init(Pointer config);

    void libxl_domain_config_dispose(Pointer config);

    int libxl_domain_config_from_json(Pointer ctx, Pointer config, String json);

    int libxl_domain_create_new(Pointer ctx, Pointer config, IntByReference domid, Pointer aoHow,
        Pointer aopConsoleHow);

    int libxl_domain_unpause(Pointer ctx, int domid, Pointer aoHow);

    int libxl_domain_destroy(Pointer ctx, int domid, Pointer aoHow);

    int libxl_domain_core_dump(Pointer ctx, int domid, String filename, Pointer aoHow);
}
