package org.dom0j.domctl.jna;

import com.sun.jna.Library;
import com.sun.jna.Pointer;

/**
 * JNA binding of libxentoollog.so.1: the stdio logger libxl writes its messages through (xentoollog.h).
 * Package-private.
 */
interface LibXenToolLog extends Library
{
    /** xentoollog_level XTL_DETAIL. */
    int XTL_DETAIL = 3;
    /** xentoollog_level XTL_INFO. */
    int XTL_INFO = 5;
    /** xentoollog_level XTL_WARN. */
    int XTL_WARN = 7;
    /** XTL_STDIOSTREAM_HIDE_PROGRESS. */
    int XTL_STDIOSTREAM_HIDE_PROGRESS = 4;

    Pointer xtl_createlogger_stdiostream(Pointer file, int minLevel, int flags);

    void xtl_logger_destroy(Pointer logger);
}
