package org.dom0j.toolstack.xl;

import java.util.Locale;

/**
 * One disk of a config file's {@code disk = [...]}, in xl's disk spec syntax (docs/misc/xl-disk-configuration.txt,
 * read the way libxlutil's disk lexer reads it): positional {@code target,format,vdev,access} (empty positions
 * allowed), or keyed {@code vdev=}, {@code format=}, {@code access=}, {@code devtype=}, {@code backendtype=},
 * {@code backend=}, {@code script=}, {@code specification=}, flags ({@code cdrom}, {@code discard},
 * {@code no-discard}, {@code direct-io-safe}), and {@code target=} which must come
 * last because it takes the rest of the spec, commas included. The old prefixes ({@code phy:}, {@code file:},
 * {@code tap:}, {@code aio:}, {@code raw:}, {@code qcow2:}, ...) are accepted as xl accepts them.
 * <p>
 * As libxl: the format defaults to raw, access to read-write; a cdrom is removable and read-only, and an empty
 * cdrom's format is {@code empty}; a vdev is required, and a target unless the disk is removable.
 * <p>
 * Immutable; any thread.
 *
 * @param target       the backing file, device or URI ({@code pdev_path}); "" or null (not given) for an empty
 *                     cdrom.
 * @param format       its format.
 * @param vdev         the guest's name for it.
 * @param deviceNumber the number that names it in xenstore ({@link VirtualDisk#deviceNumber}).
 * @param readwrite    whether the guest may write.
 * @param cdrom        a cdrom rather than a disk.
 * @param backendType  {@code phy}, {@code tap}, {@code qdisk} or {@code standalone}; null lets libxl choose.
 * @param backend      the backend domain's name; null for dom0.
 * @param script       the hotplug script; null for libxl's default.
 * @param specification {@code xen} or {@code virtio}; null for libxl's default (xen).
 * @param discard      whether discard is offered; null for libxl's default.
 * @param directIoSafe the {@code direct-io-safe} flag.
 */
public record DiskSpec(
    String target,
    Format format,
    String vdev,
    int deviceNumber,
    boolean readwrite,
    boolean cdrom,
    String backendType,
    String backend,
    String script,
    String specification,
    Boolean discard,
    boolean directIoSafe)
{
    /**
     * libxl's disk formats, with the names the spec and libxl's JSON use.
     */
    public enum Format
    {
        /** {@code raw}. */
        RAW,
        /** {@code qcow}. */
        QCOW,
        /** {@code qcow2}. */
        QCOW2,
        /** {@code vhd}. */
        VHD,
        /** {@code qed}. */
        QED,
        /** {@code empty}: no medium (a cdrom drive). */
        EMPTY;

        /**
         * @return the name in specs and in libxl's JSON.
         */
        public String xlName()
        {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * @return whether the disk is removable (a cdrom is).
     */
    public boolean removable()
    {
        return cdrom;
    }

    /**
     * @param spec one item of {@code disk = [...]}.
     * @return the disk.
     * @throws IllegalArgumentException saying what is wrong with the spec, near what.
     */
    public static DiskSpec parse(final String spec)
    {
        return new Reader(spec).read();
    }

    /**
     * Reads the spec token by token, as libxlutil's lexer does.
     */
    private static final class Reader
    {
        private final String spec;
        private String target;
        private Format format;
        private String vdev;
        private Boolean readwrite;
        private boolean accessSet;
        private boolean cdrom;
        private boolean hadPrefix;
        private String backendType;
        private String backend;
        private String script;
        private String specification;
        private Boolean discard;
        private boolean directIoSafe;

        Reader(final String spec)
        {
            this.spec = spec;
        }

        DiskSpec read()
        {
            int pos = 0;
            while (pos < spec.length())
            {
                while (pos < spec.length() && (spec.charAt(pos) == ' ' || spec.charAt(pos) == '\t' ||
                    spec.charAt(pos) == '\n'))
                {
                    pos++;
                }
                if (pos == spec.length())
                {
                    break;
                }
                if (spec.startsWith("target=", pos))
                {
                    String rest = spec.substring(pos + "target=".length());
                    if (rest.endsWith(","))
                    {
                        rest = rest.substring(0, rest.length() - 1);
                    }
                    saveTarget(rest);
                    break;
                }
                final int comma = spec.indexOf(',', pos);
                final int end = comma < 0 ? spec.length() : comma;
                token(spec.substring(pos, end));
                pos = comma < 0 ? spec.length() : comma + 1;
            }
            if (null == format)
            {
                format = Format.RAW;
            }
            boolean rw = null == readwrite || readwrite;
            if (cdrom)
            {
                rw = false;
                if (null == target || target.isEmpty())
                {
                    format = Format.EMPTY;
                }
            }
            if (null == vdev)
            {
                throw problem(null, "no vdev specified");
            }
            if (null == target && !cdrom)
            {
                throw problem(null, "no target specified (and device not removable)");
            }
            final int number = VirtualDisk.deviceNumber(vdev);
            if (number < 0)
            {
                throw problem(vdev, "vdev is not a disk name libxl knows (xvda..., hda-hdd, sda-sdp, d<N>p<N> or " +
                    "a device number)");
            }
            return new DiskSpec(target, format, vdev, number, rw, cdrom, backendType, backend,
                script, specification, discard, directIoSafe);
        }

        private void token(final String token)
        {
            final int eq = token.indexOf('=');
            if (eq >= 0)
            {
                keyed(token.substring(0, eq), token.substring(eq + 1), token);
                return;
            }
            switch (token)
            {
                case "cdrom" -> cdrom = true;
                case "discard" -> discard = Boolean.TRUE;
                case "no-discard" -> discard = Boolean.FALSE;
                case "direct-io-safe" -> directIoSafe = true;
                // Xen 4.17's xl has no trusted/untrusted for disks (its lexer takes them for a target).
                default -> positional(token);
            }
        }

        private void keyed(final String key, final String value, final String token)
        {
            switch (key)
            {
                case "format" -> setFormat(value);
                case "vdev" -> vdev = save("vdev", vdev, value);
                case "access" -> setAccess(value);
                case "devtype" ->
                {
                    if ("cdrom".equals(value))
                    {
                        cdrom = true;
                    }
                    else if ("disk".equals(value))
                    {
                        cdrom = false;
                    }
                    else
                    {
                        throw problem(token, "unknown value for devtype (cdrom or disk)");
                    }
                }
                case "backendtype" ->
                {
                    if (!value.matches("phy|tap|qdisk|standalone"))
                    {
                        throw problem(value, "unknown value for backendtype (phy, tap, qdisk or standalone)");
                    }
                    backendType = checkRespecified("backendtype", backendType, value);
                }
                case "backend" -> backend = save("backend", backend, value);
                case "script" -> script = save("script", script, value);
                case "specification" ->
                {
                    if (!value.matches("xen|virtio"))
                    {
                        throw problem(value, "unknown value for specification (xen or virtio)");
                    }
                    specification = checkRespecified("specification", specification, value);
                }
                case "mode" -> throw problem(token, "unknown parameter (xl's disk spec calls it access=)");
                default -> throw problem(token, "unknown parameter");
            }
        }

        private void positional(final String token)
        {
            String t = token;
            if (null == target)
            {
                t = stripPrefix(t);
                saveTarget(t);
            }
            else if (!hadPrefix && null == format)
            {
                if (target.isEmpty() && vdevAndDevtype(t))
                {
                    format = Format.EMPTY;
                }
                else
                {
                    setFormat(t);
                }
            }
            else if (null == vdev)
            {
                if (!vdevAndDevtype(t))
                {
                    vdev = t;
                }
            }
            else if (!accessSet)
            {
                setAccess(t);
            }
            else
            {
                throw problem(t, "too many positional parameters (target, format, vdev, access)");
            }
        }

        /**
         * The old {@code prefix:} forms before a target: format prefixes set the format, script prefixes the
         * script, the rest are dropped (they once chose a backend).
         */
        private String stripPrefix(final String token)
        {
            final int colon = token.indexOf(':');
            if (colon <= 0 || !token.substring(0, colon).matches("[a-z][a-z0-9]*"))
            {
                return token;
            }
            if (colon + 1 < token.length())
            {
                final char next = token.charAt(colon + 1);
                if (next >= 'a' && next <= 'z' || next >= '0' && next <= '9')
                {
                    // "hdc:cdrom", "nbd:host": not a prefix (xl's rule: a prefix is followed by the end or a
                    // character that is not a lower-case letter or digit).
                    return token;
                }
            }
            final String prefix = token.substring(0, colon);
            final String rest = token.substring(colon + 1);
            switch (prefix)
            {
                case "raw", "qcow", "qcow2", "vhd" ->
                {
                    hadPrefix = true;
                    setFormat(prefix);
                }
                case "iscsi", "nbd", "enbd", "drbd" ->
                {
                    hadPrefix = true;
                    script = save("script", script, "block-" + prefix);
                }
                case "tapdisk", "tap", "tap2", "aio", "ioemu", "file", "phy" -> hadPrefix = true;
                default -> throw problem(token, "unknown deprecated disk prefix " + prefix + ":");
            }
            return stripPrefix(rest);
        }

        private boolean vdevAndDevtype(final String token)
        {
            final int colon = token.lastIndexOf(':');
            if (colon < 0)
            {
                return false;
            }
            vdev = save("vdev", vdev, token.substring(0, colon));
            final String type = token.substring(colon + 1);
            if ("cdrom".equals(type))
            {
                cdrom = true;
            }
            else if ("disk".equals(type))
            {
                cdrom = false;
            }
            else
            {
                throw problem(type, "unknown deprecated type (cdrom or disk)");
            }
            return true;
        }

        private void saveTarget(final String value)
        {
            target = save("target", target, value);
        }

        private void setFormat(final String value)
        {
            final Format f;
            switch (value)
            {
                case "", "raw" -> f = Format.RAW;
                case "qcow" -> f = Format.QCOW;
                case "qcow2" -> f = Format.QCOW2;
                case "vhd" -> f = Format.VHD;
                case "qed" -> f = Format.QED;
                case "empty" -> f = Format.EMPTY;
                default -> throw problem(value, "unknown value for format (raw, qcow, qcow2, vhd, qed or empty)");
            }
            if (null != format && format != f)
            {
                throw problem(value, "format respecified");
            }
            format = f;
        }

        private void setAccess(final String value)
        {
            accessSet = true;
            switch (value)
            {
                case "r", "ro" -> readwrite = Boolean.FALSE;
                case "", "w", "rw" -> readwrite = Boolean.TRUE;
                default -> throw problem(value, "unknown value for access (r, ro, w or rw)");
            }
        }

        private String save(final String what, final String current, final String value)
        {
            if (null != current && !current.isEmpty())
            {
                throw problem(value, what + " respecified");
            }
            return value;
        }

        private String checkRespecified(final String what, final String current, final String value)
        {
            if (null != current && !current.equals(value))
            {
                throw problem(value, what + " respecified");
            }
            return value;
        }

        private IllegalArgumentException problem(final String near, final String message)
        {
            return new IllegalArgumentException("disk spec '" + spec + "': " + message +
                (null == near ? "" : ", near '" + near + "'"));
        }
    }
}
