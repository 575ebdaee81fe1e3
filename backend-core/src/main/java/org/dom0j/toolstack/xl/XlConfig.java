package org.dom0j.toolstack.xl;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A domain as an xl config file describes it, checked: the settings {@code dom0j create} uses, typed, with xl's
 * defaults and rules. Keys it does not use are warnings (xl ignores keys it does not know); a value of the wrong
 * type or out of range, a disk or vif spec xl would refuse, two disks with one vdev, two vifs with one devid or MAC,
 * a bad MAC, or {@code memory} above {@code maxmem} is an {@link XlConfigException} naming the line.
 * <p>
 * What it reads, as xl does: {@code name} (required), {@code type} ({@code pv} by default, {@code pvh}, {@code hvm};
 * the old {@code builder} too), {@code memory} and {@code maxmem} (MiB), {@code vcpus} and {@code maxvcpus},
 * {@code kernel}, {@code ramdisk}, {@code cmdline} (or {@code root} and {@code extra}: {@code "root=<root>
 * <extra>"}, ignored with a warning when {@code cmdline} is there), {@code uuid}, {@code disk}, {@code vif},
 * {@code on_poweroff} (destroy), {@code on_reboot} (restart), {@code on_watchdog} (destroy), {@code on_crash}
 * (destroy), {@code on_soft_reset} (soft-reset). Numbers may be written as xl takes them: decimal, {@code 0x} hex,
 * octal, in quotes or not.
 * <p>
 * Immutable; any thread.
 *
 * @param source    the file's name.
 * @param name      the domain's name.
 * @param type      its type.
 * @param memoryMib {@code memory}, or null when not given.
 * @param maxmemMib {@code maxmem}, or null when not given.
 * @param vcpus     {@code vcpus}, or null when not given (one vCPU).
 * @param maxVcpus  {@code maxvcpus}, or null when not given.
 * @param kernel    the kernel image, or null.
 * @param ramdisk   the initial ramdisk, or null.
 * @param cmdline   the kernel command line, or null.
 * @param uuid      {@code uuid}, or null to have one made.
 * @param disks     the disks, in order.
 * @param vifs      the network interfaces, in order.
 * @param actions   what to do when the guest stops, for each reason.
 * @param warnings  what is suspicious or ignored, with positions.
 * @param lines     the line of each key given.
 */
public record XlConfig(
    String source,
    String name,
    DomainType type,
    Long memoryMib,
    Long maxmemMib,
    Integer vcpus,
    Integer maxVcpus,
    String kernel,
    String ramdisk,
    String cmdline,
    String uuid,
    List<DiskSpec> disks,
    List<VifSpec> vifs,
    Map<ShutdownEvent, ShutdownAction> actions,
    List<String> warnings,
    Map<String, Integer> lines)
{
    /** Most vCPUs dom0j accepts (Xen's limit for a PV guest is higher; libxl checks against the host). */
    public static final int MAX_VCPUS = 4096;
    /** Most MiB dom0j accepts for memory or maxmem (16 TiB). */
    public static final long MAX_MIB = 16L << 20;

    private static final Set<String> KEYS = Set.of("name", "type", "builder", "memory", "maxmem", "vcpus",
        "maxvcpus", "kernel", "ramdisk", "cmdline", "root", "extra", "uuid", "disk", "vif", "on_poweroff",
        "on_reboot", "on_watchdog", "on_crash", "on_soft_reset");

    /**
     * libxl's domain types.
     */
    public enum DomainType
    {
        /** Paravirtualised. */
        PV,
        /** PVH. */
        PVH,
        /** Hardware virtualised. */
        HVM;

        /**
         * @return the name in config files and libxl's JSON.
         */
        public String xlName()
        {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * Why a guest stopped, each with its {@code on_*} key and xl's default action.
     */
    public enum ShutdownEvent
    {
        /** The guest powered off. */
        POWEROFF("on_poweroff", ShutdownAction.DESTROY),
        /** The guest rebooted. */
        REBOOT("on_reboot", ShutdownAction.RESTART),
        /** The watchdog fired. */
        WATCHDOG("on_watchdog", ShutdownAction.DESTROY),
        /** The guest crashed. */
        CRASH("on_crash", ShutdownAction.DESTROY),
        /** The guest asked for a soft reset. */
        SOFT_RESET("on_soft_reset", ShutdownAction.SOFT_RESET);

        private final String key;
        private final ShutdownAction xlDefault;

        ShutdownEvent(final String key, final ShutdownAction xlDefault)
        {
            this.key = key;
            this.xlDefault = xlDefault;
        }

        /**
         * @return the config key.
         */
        public String key()
        {
            return key;
        }

        /**
         * @return what xl does when the key is not given.
         */
        public ShutdownAction xlDefault()
        {
            return xlDefault;
        }
    }

    /**
     * libxl's actions on shutdown, with the names config files use and the names libxl's JSON uses.
     */
    public enum ShutdownAction
    {
        /** Destroy the domain. */
        DESTROY("destroy", "destroy"),
        /** Destroy it and create it again. */
        RESTART("restart", "restart"),
        /** Rename the old domain, and create a new one. */
        RENAME_RESTART("rename-restart", "restart_rename"),
        /** Leave it as it is. */
        PRESERVE("preserve", "preserve"),
        /** Dump its core, then destroy it. */
        COREDUMP_DESTROY("coredump-destroy", "coredump_destroy"),
        /** Dump its core, then restart it. */
        COREDUMP_RESTART("coredump-restart", "coredump_restart"),
        /** Reset it and let it run again. */
        SOFT_RESET("soft-reset", "soft_reset");

        private final String configName;
        private final String jsonName;

        ShutdownAction(final String configName, final String jsonName)
        {
            this.configName = configName;
            this.jsonName = jsonName;
        }

        /**
         * @return the name in config files.
         */
        public String configName()
        {
            return configName;
        }

        /**
         * @return the name in libxl's JSON.
         */
        public String jsonName()
        {
            return jsonName;
        }

        static ShutdownAction byConfigName(final String name)
        {
            for (final ShutdownAction a : values())
            {
                if (a.configName.equals(name))
                {
                    return a;
                }
            }
            return null;
        }
    }

    /**
     * Reads and checks a config file.
     *
     * @param file the file.
     * @return the config.
     * @throws XlConfigException when it is wrong (or cannot be read).
     */
    public static XlConfig read(final Path file)
    {
        final String text;
        try
        {
            text = Files.readString(file, StandardCharsets.UTF_8);
        }
        catch (final IOException ex)
        {
            throw new XlConfigException(file.toString(), 0, 0, "cannot read the config file: " + ex.getMessage());
        }
        return parse(file.toString(), text);
    }

    /**
     * @param source the file's name, for messages.
     * @param text   its text.
     * @return the config.
     * @throws XlConfigException when it is wrong.
     */
    public static XlConfig parse(final String source, final String text)
    {
        return from(XlConfigFile.parse(source, text));
    }

    /**
     * @param file parsed settings.
     * @return the config.
     * @throws XlConfigException when a setting is wrong.
     */
    public static XlConfig from(final XlConfigFile file)
    {
        return new Checker(file).check();
    }

    /**
     * @param key a key.
     * @return the line it was set on, or 0.
     */
    public int line(final String key)
    {
        return lines.getOrDefault(key, 0);
    }

    /**
     * @param newName the name (already checked).
     * @return this config under another name, as xl's daemon rebuilds a domain that was renamed since it was
     *         created.
     */
    public XlConfig withName(final String newName)
    {
        return new XlConfig(source, newName, type, memoryMib, maxmemMib, vcpus, maxVcpus, kernel, ramdisk, cmdline,
            uuid, disks, vifs, actions, warnings, lines);
    }

    /**
     * @param event why a guest stopped.
     * @return what to do.
     */
    public ShutdownAction action(final ShutdownEvent event)
    {
        return actions.get(event);
    }

    /**
     * @return the memory the guest starts with, MiB, with libxl's defaults (maxmem, else 32 MiB).
     */
    public long effectiveMemoryMib()
    {
        return null != memoryMib ? memoryMib : null != maxmemMib ? maxmemMib : 32;
    }

    /**
     * @return the vCPUs the guest starts with.
     */
    public int effectiveVcpus()
    {
        return null != vcpus ? vcpus : 1;
    }

    /**
     * Checks, as libxl does when it builds the domain, that the files named exist and can be read: the kernel, the
     * ramdisk, and each disk whose target is a path (not for an empty cdrom, or a target with a {@code :} that a
     * hotplug script interprets).
     *
     * @param problems told about each problem, with its position.
     */
    public void checkFiles(final Consumer<XlConfigException> problems)
    {
        checkFile("kernel", kernel, problems);
        checkFile("ramdisk", ramdisk, problems);
        for (final DiskSpec d : disks)
        {
            if (null != d.target() && null == d.script() && d.target().startsWith("/"))
            {
                final Path p = Path.of(d.target());
                if (!Files.exists(p))
                {
                    problems.accept(new XlConfigException(source, line("disk"), 0, "disk " + d.vdev() + ": target " +
                        d.target() + " does not exist"));
                }
                else if (!Files.isReadable(p) || d.readwrite() && !Files.isWritable(p))
                {
                    problems.accept(new XlConfigException(source, line("disk"), 0, "disk " + d.vdev() + ": target " +
                        d.target() + " cannot be " + (d.readwrite() ? "read and written" : "read") + " by this user"));
                }
            }
        }
    }

    private void checkFile(final String key, final String path, final Consumer<XlConfigException> problems)
    {
        if (null == path)
        {
            return;
        }
        final Path p = Path.of(path);
        if (!Files.isRegularFile(p))
        {
            problems.accept(new XlConfigException(source, line(key), 0, key + " " + path +
                (Files.exists(p) ? " is not a regular file" : " does not exist")));
        }
        else if (!Files.isReadable(p))
        {
            problems.accept(new XlConfigException(source, line(key), 0, key + " " + path + " cannot be read"));
        }
    }

    /**
     * Turns settings into the typed config, one key at a time.
     */
    private static final class Checker
    {
        private final XlConfigFile file;
        private final List<String> warnings = new ArrayList<>();
        private final Map<String, Integer> lines = new HashMap<>();

        Checker(final XlConfigFile file)
        {
            this.file = file;
            warnings.addAll(file.warnings());
            file.settings().values().forEach(s -> lines.put(s.key(), s.line()));
        }

        XlConfig check()
        {
            for (final XlConfigFile.Setting s : file.settings().values())
            {
                if (!KEYS.contains(s.key()))
                {
                    warnings.add(file.source() + ":" + s.line() + ": " + s.key() + " is not a setting dom0j create " +
                        "uses; ignored");
                }
            }
            final String name = string("name");
            if (null == name)
            {
                throw new XlConfigException(file.source(), 0, 0, "name is missing: a domain needs a name " +
                    "(name = \"guest1\")");
            }
            checkName(name);
            final DomainType type = type();
            final Long memory = number("memory", 1, MAX_MIB);
            final Long maxmem = number("maxmem", 1, MAX_MIB);
            if (null != memory && null != maxmem && memory > maxmem)
            {
                final XlConfigFile.Setting s = file.get("memory");
                throw new XlConfigException(file.source(), s.line(), s.column(), "memory (" + memory + " MiB) is " +
                    "more than maxmem (" + maxmem + " MiB, line " + file.get("maxmem").line() + ")");
            }
            final Long vcpus = number("vcpus", 1, MAX_VCPUS);
            final Long maxVcpus = number("maxvcpus", 1, MAX_VCPUS);
            if (null != maxVcpus && maxVcpus < (null == vcpus ? 1 : vcpus))
            {
                final XlConfigFile.Setting s = file.get("maxvcpus");
                throw new XlConfigException(file.source(), s.line(), s.column(), "maxvcpus (" + maxVcpus +
                    ") is less than vcpus (" + (null == vcpus ? 1 : vcpus) + ")");
            }
            final String uuid = string("uuid");
            if (null != uuid && !uuid.matches("[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?" +
                "[0-9a-fA-F]{12}"))
            {
                final XlConfigFile.Setting s = file.get("uuid");
                throw new XlConfigException(file.source(), s.value().line(), s.value().column(), "uuid: '" + uuid +
                    "' is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
            }
            final Map<ShutdownEvent, ShutdownAction> actions = new java.util.EnumMap<>(ShutdownEvent.class);
            for (final ShutdownEvent e : ShutdownEvent.values())
            {
                actions.put(e, action(e));
            }
            return new XlConfig(file.source(), name, type, memory, maxmem, null == vcpus ? null : vcpus.intValue(),
                null == maxVcpus ? null : maxVcpus.intValue(), string("kernel"), string("ramdisk"), cmdline(),
                null == uuid ? null : uuid.toLowerCase(Locale.ROOT), disks(), vifs(), Map.copyOf(actions),
                List.copyOf(warnings), Map.copyOf(lines));
        }

        private void checkName(final String name)
        {
            final XlConfigFile.Setting s = file.get("name");
            String problem = null;
            if (name.isEmpty())
            {
                problem = "name is empty";
            }
            else if (name.indexOf('/') >= 0)
            {
                problem = "name '" + name + "' has a '/' (names become xenstore values and log file names)";
            }
            else if (name.chars().anyMatch(c -> c < 0x20 || c == 0x7F))
            {
                problem = "name has a control character";
            }
            else if (name.matches("[0-9]+"))
            {
                problem = "name '" + name + "' is a number, which xl's commands would take for a domid";
            }
            if (null != problem)
            {
                throw new XlConfigException(file.source(), s.value().line(), s.value().column(), problem);
            }
        }

        private DomainType type()
        {
            final String type = string("type");
            final String builder = string("builder");
            DomainType result = null;
            if (null != type)
            {
                result = switch (type)
                {
                    case "pv" -> DomainType.PV;
                    case "pvh" -> DomainType.PVH;
                    case "hvm" -> DomainType.HVM;
                    default -> throw atValue("type", "type '" + type + "' is not a domain type (pv, pvh or hvm)");
                };
            }
            if (null != builder)
            {
                final DomainType fromBuilder = switch (builder)
                {
                    case "generic" -> DomainType.PV;
                    case "hvm" -> DomainType.HVM;
                    default -> throw atValue("builder", "builder '" + builder + "' is not generic or hvm (builder is " +
                        "deprecated: use type = \"pv\" or \"hvm\")");
                };
                if (null != result && result != fromBuilder)
                {
                    throw atValue("builder", "builder = \"" + builder + "\" contradicts type = \"" + type + "\"");
                }
                warnings.add(file.source() + ":" + file.get("builder").line() + ": builder is deprecated; use type");
                result = fromBuilder;
            }
            return null == result ? DomainType.PV : result;
        }

        private String cmdline()
        {
            final String cmdline = string("cmdline");
            final String root = string("root");
            final String extra = string("extra");
            if (null != cmdline)
            {
                if (null != root || null != extra)
                {
                    warnings.add(file.source() + ":" + file.get("cmdline").line() + ": ignoring root= and extra= " +
                        "in favour of cmdline= (as xl does)");
                }
                return cmdline;
            }
            if (null != root)
            {
                return null != extra ? "root=" + root + " " + extra : "root=" + root;
            }
            return extra;
        }

        private ShutdownAction action(final ShutdownEvent event)
        {
            final String value = string(event.key());
            if (null == value)
            {
                return event.xlDefault();
            }
            final ShutdownAction action = ShutdownAction.byConfigName(value);
            if (null == action)
            {
                final StringBuilder names = new StringBuilder();
                for (final ShutdownAction a : ShutdownAction.values())
                {
                    names.append(names.length() > 0 ? ", " : "").append(a.configName());
                }
                throw atValue(event.key(), event.key() + ": unknown action '" + value + "' (" + names + ")");
            }
            return action;
        }

        private List<DiskSpec> disks()
        {
            final List<XlConfigFile.Atom> items = stringList("disk");
            final List<DiskSpec> disks = new ArrayList<>();
            final Map<Integer, Integer> byNumber = new HashMap<>();
            for (int i = 0; i < items.size(); i++)
            {
                final XlConfigFile.Atom item = items.get(i);
                final DiskSpec disk;
                try
                {
                    disk = DiskSpec.parse(item.text());
                }
                catch (final IllegalArgumentException ex)
                {
                    throw new XlConfigException(file.source(), item.line(), item.column(), "disk " + (i + 1) + ": " +
                        ex.getMessage());
                }
                final Integer other = byNumber.putIfAbsent(disk.deviceNumber(), i);
                if (null != other)
                {
                    throw new XlConfigException(file.source(), item.line(), item.column(), "disk " + (i + 1) +
                        ": vdev " + disk.vdev() + " is the same device (" + disk.deviceNumber() + ") as disk " +
                        (other + 1) + "'s vdev " + disks.get(other).vdev());
                }
                disks.add(disk);
            }
            return List.copyOf(disks);
        }

        private List<VifSpec> vifs()
        {
            final List<XlConfigFile.Atom> items = stringList("vif");
            final List<VifSpec> vifs = new ArrayList<>();
            final Map<Integer, Integer> byDevid = new HashMap<>();
            final Map<String, Integer> byMac = new HashMap<>();
            for (int i = 0; i < items.size(); i++)
            {
                final XlConfigFile.Atom item = items.get(i);
                final VifSpec vif;
                try
                {
                    vif = VifSpec.parse(item.text(), i);
                }
                catch (final IllegalArgumentException ex)
                {
                    throw new XlConfigException(file.source(), item.line(), item.column(), "vif " + (i + 1) + ": " +
                        ex.getMessage());
                }
                vif.warnings().forEach(w -> warnings.add(file.source() + ":" + item.line() + ": " + w));
                final Integer other = byDevid.putIfAbsent(vif.devid(), i);
                if (null != other)
                {
                    throw new XlConfigException(file.source(), item.line(), item.column(), "vif " + (i + 1) +
                        ": devid " + vif.devid() + " is also vif " + (other + 1) + "'s");
                }
                if (null != vif.mac())
                {
                    final Integer sameMac = byMac.putIfAbsent(vif.mac(), i);
                    if (null != sameMac)
                    {
                        throw new XlConfigException(file.source(), item.line(), item.column(), "vif " + (i + 1) +
                            ": mac " + vif.mac() + " is also vif " + (sameMac + 1) + "'s");
                    }
                }
                vifs.add(vif);
            }
            return List.copyOf(vifs);
        }

        private List<XlConfigFile.Atom> stringList(final String key)
        {
            final XlConfigFile.Setting s = file.get(key);
            if (null == s)
            {
                return List.of();
            }
            if (!(s.value() instanceof XlConfigFile.ListValue list))
            {
                throw atValue(key, key + " must be a list, e.g. " + key + " = [ '...' ]");
            }
            final List<XlConfigFile.Atom> atoms = new ArrayList<>();
            for (final XlConfigFile.Value v : list.items())
            {
                if (!(v instanceof XlConfigFile.Atom atom))
                {
                    throw new XlConfigException(file.source(), v.line(), v.column(), key + ": each item must be a " +
                        "string, not a list");
                }
                atoms.add(atom);
            }
            return atoms;
        }

        private String string(final String key)
        {
            final XlConfigFile.Setting s = file.get(key);
            if (null == s)
            {
                return null;
            }
            if (!(s.value() instanceof XlConfigFile.Atom atom))
            {
                throw atValue(key, key + " must be a single value, not a list");
            }
            return atom.text();
        }

        private Long number(final String key, final long min, final long max)
        {
            final String text = string(key);
            if (null == text)
            {
                return null;
            }
            final long value;
            try
            {
                value = parseCLong(text);
            }
            catch (final NumberFormatException ex)
            {
                throw atValue(key, key + ": expected a number, got '" + text + "'");
            }
            if (value < min || value > max)
            {
                throw atValue(key, key + ": " + value + " is out of range (" + min + " to " + max + ")");
            }
            return value;
        }

        private XlConfigException atValue(final String key, final String reason)
        {
            final XlConfigFile.Value v = file.get(key).value();
            return new XlConfigException(file.source(), v.line(), v.column(), reason);
        }
    }

    /**
     * strtol with base 0 over the whole text: decimal, {@code 0x} hex or {@code 0} octal, an optional sign.
     */
    static long parseCLong(final String text)
    {
        String t = text.strip();
        boolean negative = false;
        if (t.startsWith("-") || t.startsWith("+"))
        {
            negative = t.startsWith("-");
            t = t.substring(1);
        }
        if (t.isEmpty() || t.startsWith("-") || t.startsWith("+"))
        {
            throw new NumberFormatException(text);
        }
        final long magnitude;
        if (t.startsWith("0x") || t.startsWith("0X"))
        {
            magnitude = Long.parseLong(t.substring(2), 16);
        }
        else if (t.length() > 1 && t.charAt(0) == '0')
        {
            magnitude = Long.parseLong(t.substring(1), 8);
        }
        else
        {
            magnitude = Long.parseLong(t, 10);
        }
        if (magnitude < 0)
        {
            throw new NumberFormatException(text);
        }
        return negative ? -magnitude : magnitude;
    }
}
