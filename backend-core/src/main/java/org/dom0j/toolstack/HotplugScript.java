package org.dom0j.toolstack;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import org.dom0j.common.Errno;
import org.dom0j.common.XenException;
import org.dom0j.xenstore.XenStore;
import org.dom0j.xenstore.XsWatch;

/**
 * A device's hotplug script, run as libxl runs it on Linux for a device Domain-0 serves ({@code device_hotplug} in
 * libxl_device.c, {@code libxl__get_hotplug_script_info} in libxl_linux.c): the backend's {@code script} key
 * (a name without a leading '/' is looked up in {@link #SCRIPTS_DIRECTORY}, as {@code libxl__abs_path} does),
 * called with {@code online type_if=vif} or {@code offline type_if=vif} for a vif and {@code add} or
 * {@code remove} for a vbd, with libxl's environment on top of ours: {@code script}, {@code XENBUS_TYPE},
 * {@code XENBUS_PATH} ({@code backend/<type>/<domid>/<devid>}, relative to Domain-0's home),
 * {@code XENBUS_BASE_PATH} ({@code backend}) and, for a vif, {@code netdev} (the backend's {@code gatewaydev}, or
 * empty) and {@code vif} ({@code vif<domid>.<devid>}, the name Linux's netback and dom0j's TAPs use). Its stdin is
 * /dev/null; what it prints is kept (the last {@value #OUTPUT_LIMIT} bytes) for the error message. It may run for
 * {@value #TIMEOUT_MS} ms (LIBXL_HOTPLUG_TIMEOUT), then it and its children are killed.
 * <p>
 * A script says how it went in the backend directory, as Xen's do through xen-hotplug-common.sh:
 * {@code hotplug-status} = {@code connected} at the end of {@code online}, or {@code error} with the reason in
 * {@code hotplug-error}. libxl looks only at the exit status (and logs {@code hotplug-error}); here an {@code online}
 * or {@code add} also waits, on a watch and within the same time limit, for {@code connected}, so that a script that
 * exits 0 without saying so (and a backend such as Linux's netback, which waits for that key) is not left hanging
 * unnoticed. dom0j's own backends write {@code connected} themselves before InitWait, so for them only
 * {@code error} or the exit status can fail a run. A removal looks at the exit status only.
 * <p>
 * The script's path and every key read here are in Domain-0's backend directory, written by the toolstack, not by
 * the guest; they are still read as data: shown in messages only after control characters are taken out.
 * <p>
 * Threads: any; {@link #run} blocks its caller until the script is done, one run at a time per connection.
 */
public final class HotplugScript
{
    /** Where libxl looks up a script named without a directory (XEN_SCRIPT_DIR). */
    public static final Path SCRIPTS_DIRECTORY = Path.of("/etc/xen/scripts");
    /** How long libxl lets a hotplug script run (LIBXL_HOTPLUG_TIMEOUT, 40 s). */
    public static final long TIMEOUT_MS = 40_000;
    /** How much of what the script printed is kept: its last this many bytes. */
    static final int OUTPUT_LIMIT = 2048;
    /** How long a killed script may take to be reaped. */
    private static final long KILL_WAIT_MS = 5_000;
    /** Longest hotplug-error shown. */
    private static final int ERROR_LIMIT = 512;

    /**
     * What is asked of the script: libxl's LIBXL__DEVICE_ACTION_ADD and _REMOVE.
     */
    public enum Action
    {
        /** A device was added: {@code online} for a vif, {@code add} for a vbd. */
        ADD,
        /** A device is being removed: {@code offline} for a vif, {@code remove} for a vbd. */
        REMOVE
    }

    private final XenStore xs;
    private final Path scriptsDirectory;
    private final long timeoutMs;

    /**
     * A runner as libxl's: scripts in {@link #SCRIPTS_DIRECTORY}, {@link #TIMEOUT_MS}.
     *
     * @param xs a privileged connection.
     */
    public HotplugScript(final XenStore xs)
    {
        this(xs, SCRIPTS_DIRECTORY, TIMEOUT_MS);
    }

    /**
     * @param xs               a privileged connection.
     * @param scriptsDirectory where a script named without a directory is looked up.
     * @param timeoutMs        how long a script may run (and, for an add, write {@code connected}).
     */
    public HotplugScript(final XenStore xs, final Path scriptsDirectory, final long timeoutMs)
    {
        this.xs = xs;
        this.scriptsDirectory = scriptsDirectory;
        this.timeoutMs = timeoutMs;
    }

    /**
     * @param script           a {@code script} value.
     * @param scriptsDirectory where a name without a leading '/' is looked up.
     * @return the script's path, as {@code libxl__abs_path} makes it.
     */
    public static Path resolve(final String script, final Path scriptsDirectory)
    {
        return script.startsWith("/") ? Path.of(script) : scriptsDirectory.resolve(script);
    }

    /**
     * Runs a device's script and checks what it said.
     *
     * @param type   "vif" or "vbd".
     * @param domid  the guest.
     * @param devid  the device id.
     * @param action add or remove.
     * @return what the script printed (its last {@value #OUTPUT_LIMIT} bytes).
     * @throws XenException saying what failed and what to do: ENOENT or EACCES when the script cannot be run, EIO
     *                      when it failed (exit status or {@code hotplug-status} error, with {@code hotplug-error}),
     *                      ETIMEDOUT when it ran too long (it was killed) or never wrote {@code connected}.
     */
    public String run(final String type, final int domid, final String devid, final Action action)
    {
        if (!"vif".equals(type) && !"vbd".equals(type))
        {
            throw new IllegalArgumentException("libxl runs hotplug scripts for vif and vbd only, not " + type);
        }
        final String be = XenbusDevices.backendPath(0, type, domid, devid);
        final String what = type + " " + devid + " of domain " + domid;
        final String key = xs.readOrNull(be + "/script");
        if (null == key || key.isEmpty())
        {
            throw new XenException(Errno.ENOENT.number(), what + ": its backend " + be + " names no hotplug script " +
                "(no script key); was it attached by dom0j or xl?");
        }
        final Path script;
        try
        {
            script = resolve(key, scriptsDirectory);
        }
        catch (final InvalidPathException ex)
        {
            throw new XenException(Errno.EINVAL.number(), what + ": its hotplug script '" + printable(key, 256) +
                "' (" + be + "/script) is not a path", ex);
        }
        final List<String> command = List.of(script.toString(), argument(type, action), "type_if=vif");
        final List<String> args = "vif".equals(type) ? command : command.subList(0, 2);
        final Map<String, String> env = environment(type, domid, devid, be, script);
        final String shown = "'" + printable(String.join(" ", args), 512) + "'";
        final String path = printable(script.toString(), 256);
        if (!Files.isRegularFile(script))
        {
            throw new XenException(Errno.ENOENT.number(), what + ": its hotplug script " + path + " (" + be +
                "/script) does not exist: install Xen's hotplug scripts (Debian: xen-utils-common), or give the " +
                "device a script that exists (script=NAME in its spec; a name without a '/' is looked up in " +
                scriptsDirectory + ")");
        }
        if (!Files.isExecutable(script))
        {
            throw new XenException(Errno.EACCES.number(), what + ": its hotplug script " + path + " is not " +
                "executable: chmod +x it, or give the device another script (script=NAME in its spec)");
        }
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        final String output = execute(args, env, be, deadline, what, shown);
        if (action == Action.ADD)
        {
            awaitConnected(be, deadline, what, shown, output, env, args);
        }
        return output;
    }

    /**
     * Runs a just attached device's script with {@link Action#ADD}; when that fails, removes the device's backend
     * and frontend directories again (as {@link DeviceHotplug#awaitBackendOrRemove} does when no backend takes
     * it) and says so.
     *
     * @param type  "vif" or "vbd".
     * @param domid the guest.
     * @param devid the device id.
     * @return what the script printed.
     * @throws XenException as {@link #run} does, the device removed.
     */
    public String addOrRemove(final String type, final int domid, final String devid)
    {
        try
        {
            return run(type, domid, devid, Action.ADD);
        }
        catch (final XenException ex)
        {
            String removed = " (" + type + " " + devid + " was removed again)";
            try
            {
                XenbusDevices.remove(xs, 0, type, domid, devid);
            }
            catch (final XenException removal)
            {
                removed = " (removing " + type + " " + devid + " again failed too: " + removal.getMessage() + ")";
            }
            // The message without the errno's words, which the new exception adds again.
            final String suffix = ": " + Errno.describe(ex.errno());
            final String message = ex.getMessage();
            throw new XenException(ex.errno(), (ex.errno() != 0 && message.endsWith(suffix) ?
                message.substring(0, message.length() - suffix.length()) : message) + removed, ex);
        }
    }

    private static String argument(final String type, final Action action)
    {
        if ("vif".equals(type))
        {
            return action == Action.ADD ? "online" : "offline";
        }
        return action == Action.ADD ? "add" : "remove";
    }

    private Map<String, String> environment(
        final String type, final int domid, final String devid, final String be, final Path script)
    {
        final Map<String, String> env = new LinkedHashMap<>();
        env.put("script", script.toString());
        env.put("XENBUS_TYPE", type);
        env.put("XENBUS_PATH", "backend/" + type + "/" + domid + "/" + devid);
        env.put("XENBUS_BASE_PATH", "backend");
        if ("vif".equals(type))
        {
            final String gatewaydev = xs.readOrNull(be + "/gatewaydev");
            env.put("netdev", null == gatewaydev ? "" : gatewaydev);
            env.put("vif", "vif" + domid + "." + devid);
        }
        return env;
    }

    private String execute(
        final List<String> args, final Map<String, String> env, final String be, final long deadline,
        final String what, final String shown)
    {
        Path log = null;
        Process process = null;
        try
        {
            log = Files.createTempFile("dom0j-hotplug-", ".log");
            final ProcessBuilder pb = new ProcessBuilder(args)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
            pb.environment().putAll(env);
            process = pb.start();
            final long left = deadline - System.nanoTime();
            if (!process.waitFor(Math.max(0, left), TimeUnit.NANOSECONDS))
            {
                kill(process);
                throw new XenException(Errno.ETIMEDOUT.number(), what + ": hotplug script " + shown + " did not " +
                    "finish within " + seconds() + " and was killed; " + said(tail(log)) + " " +
                    advice(env, args));
            }
            final String output = tail(log);
            final int status = process.exitValue();
            if (status != 0)
            {
                throw new XenException(Errno.EIO.number(), what + ": hotplug script " + shown + " failed with " +
                    "exit status " + status + hotplugError(be) + "; " + said(output) + " " + advice(env, args));
            }
            return output;
        }
        catch (final IOException ex)
        {
            throw new XenException(Errno.EIO.number(), what + ": could not run hotplug script " + shown + ": " +
                ex.getMessage(), ex);
        }
        catch (final InterruptedException ex)
        {
            kill(process);
            Thread.currentThread().interrupt();
            throw new XenException(Errno.EINTR.number(), what + ": interrupted running hotplug script " + shown, ex);
        }
        finally
        {
            if (null != log)
            {
                try
                {
                    Files.deleteIfExists(log);
                }
                catch (final IOException ignored)
                {
                    // A temporary file left behind in /tmp is harmless.
                }
            }
        }
    }

    private void awaitConnected(
        final String be, final long deadline, final String what, final String shown, final String output,
        final Map<String, String> env, final List<String> args)
    {
        final String statusPath = be + "/hotplug-status";
        final Semaphore changed = new Semaphore(0);
        try (XsWatch watch = xs.watch(statusPath, "hotplug-script-" + statusPath + "-" + System.nanoTime(),
            (path, token) -> changed.release()))
        {
            while (true)
            {
                final String status = xs.readOrNull(statusPath);
                if ("connected".equals(status))
                {
                    return;
                }
                if ("error".equals(status))
                {
                    throw new XenException(Errno.EIO.number(), what + ": hotplug script " + shown + " exited 0 " +
                        "but wrote hotplug-status error" + hotplugError(be) + "; " + said(output) + " " +
                        advice(env, args));
                }
                final long left = deadline - System.nanoTime();
                if (left <= 0 || !changed.tryAcquire(left, TimeUnit.NANOSECONDS))
                {
                    final String last = xs.readOrNull(statusPath);
                    if ("connected".equals(last))
                    {
                        return;
                    }
                    throw new XenException(Errno.ETIMEDOUT.number(), what + ": hotplug script " + shown +
                        " exited 0, but " + statusPath + " is " + (null == last ? "missing" : "'" +
                        printable(last, 64) + "'") + ", not 'connected', " + seconds() + " after it " +
                        "began: a hotplug script must write it when it is done (Xen's do, in " +
                        "xen-hotplug-common.sh's success); " + said(output));
                }
                changed.drainPermits();
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new XenException(Errno.EINTR.number(), "interrupted waiting for " + statusPath, ex);
        }
    }

    private String hotplugError(final String be)
    {
        final String error = xs.readOrNull(be + "/hotplug-error");
        return null == error || error.isBlank() ? " (it wrote no hotplug-error)" : ": " + printable(error,
            ERROR_LIMIT);
    }

    private static void kill(final Process process)
    {
        if (null == process)
        {
            return;
        }
        // Its children first: once it is gone they are init's, no longer found through it.
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try
        {
            process.waitFor(KILL_WAIT_MS, TimeUnit.MILLISECONDS);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }

    private static String tail(final Path log) throws IOException
    {
        try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "r"))
        {
            final long length = f.length();
            final byte[] bytes = new byte[(int)Math.min(length, OUTPUT_LIMIT)];
            f.seek(length - bytes.length);
            f.readFully(bytes);
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }

    private static String said(final String output)
    {
        final String text = printable(output, OUTPUT_LIMIT);
        return text.isEmpty() ? "it printed nothing" : "it printed: " + text;
    }

    private static String advice(final Map<String, String> env, final List<String> args)
    {
        final StringBuilder sb = new StringBuilder("(Xen's scripts log to /var/log/xen/xen-hotplug.log; to run it " +
            "by hand:");
        env.forEach((k, v) -> sb.append(' ').append(k).append('=').append(quote(v)));
        args.forEach(a -> sb.append(' ').append(quote(a)));
        return sb.append(')').toString();
    }

    private static String quote(final String value)
    {
        final String safe = printable(value, 256);
        return safe.matches("[A-Za-z0-9_./:=@+-]+") ? safe : "'" + safe.replace("'", "'\\''") + "'";
    }

    /**
     * @return the text on one line (its lines joined with " | "), control characters taken out, at most {@code max}
     *         characters (its end kept: a script's last words say most).
     */
    static String printable(final String text, final int max)
    {
        final StringBuilder sb = new StringBuilder();
        for (final String line : text.split("\\R"))
        {
            final StringBuilder clean = new StringBuilder(line.length());
            line.chars().forEach(c -> clean.append(c == '\t' ? ' ' : Character.isISOControl(c) ? "" :
                String.valueOf((char)c)));
            final String stripped = clean.toString().strip();
            if (!stripped.isEmpty())
            {
                sb.append(sb.length() == 0 ? "" : " | ").append(stripped);
            }
        }
        return sb.length() <= max ? sb.toString() : "..." + sb.substring(sb.length() - max);
    }

    private String seconds()
    {
        return timeoutMs % 1000 == 0 ? timeoutMs / 1000 + " s" : timeoutMs + " ms";
    }
}
