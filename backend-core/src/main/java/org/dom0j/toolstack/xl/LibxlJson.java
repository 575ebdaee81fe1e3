package org.dom0j.toolstack.xl;


import org.dom0j.common.Json;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code libxl_domain_config} JSON for a config: what {@code xl create -n} (and {@code -d}) prints for the same
 * file with xl.conf's defaults, and what {@code libxl_domain_config_from_json} reads back. Keys come in libxl's IDL
 * order (libxl_types.idl, Xen 4.17) and, as libxl's generator does, a field at its default is left out: a disk's
 * {@code readwrite} only when 1, the actions on shutdown only when not {@code destroy}, memory only when given.
 * <p>
 * xl's own defaults are written as xl writes them: {@code run_hotplug_scripts} and {@code claim_mode} "True" (xl.conf's
 * defaults), {@code max_vcpus} (maxvcpus, else vcpus, when either is given), {@code max_memkb} equal to
 * {@code target_memkb} when {@code maxmem} is not given, and a vif's {@code devid} (its index).
 * <p>
 * Stateless; any thread.
 */
public final class LibxlJson
{
    private LibxlJson()
    {
    }

    /**
     * @param config the config.
     * @param uuid   the domain's UUID (the config's, or a new one), {@code xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}.
     * @return the JSON text, compact.
     */
    public static String domainConfig(final XlConfig config, final String uuid)
    {
        return Json.write(tree(config, uuid));
    }

    /**
     * @param config the config.
     * @param uuid   the domain's UUID.
     * @return the JSON document as maps (in key order), lists, strings and numbers.
     */
    public static Map<String, Object> tree(final XlConfig config, final String uuid)
    {
        final Map<String, Object> doc = new LinkedHashMap<>();
        final Map<String, Object> cInfo = new LinkedHashMap<>();
        cInfo.put("type", config.type().xlName());
        cInfo.put("name", config.name());
        cInfo.put("uuid", canonicalUuid(uuid));
        cInfo.put("run_hotplug_scripts", "True");
        doc.put("c_info", cInfo);

        final Map<String, Object> bInfo = new LinkedHashMap<>();
        final int vcpus = config.effectiveVcpus();
        if (null != config.maxVcpus() || null != config.vcpus())
        {
            // xl sets max_vcpus only from vcpus or maxvcpus; libxl then defaults it to 1.
            bInfo.put("max_vcpus", null != config.maxVcpus() ? config.maxVcpus() : vcpus);
        }
        if (null != config.vcpus())
        {
            final List<Object> avail = new ArrayList<>();
            for (int i = 0; i < vcpus; i++)
            {
                avail.add(i);
            }
            bInfo.put("avail_vcpus", avail);
        }
        final Long target = null != config.memoryMib() ? config.memoryMib() * 1024 : null;
        final Long max = null != config.maxmemMib() ? Long.valueOf(config.maxmemMib() * 1024) : target;
        putIfPresent(bInfo, "max_memkb", max);
        putIfPresent(bInfo, "target_memkb", target);
        bInfo.put("sched_params", new LinkedHashMap<>());
        bInfo.put("claim_mode", "True");
        putIfPresent(bInfo, "kernel", config.kernel());
        putIfPresent(bInfo, "cmdline", config.cmdline());
        putIfPresent(bInfo, "ramdisk", config.ramdisk());
        bInfo.put("type." + config.type().xlName(), new LinkedHashMap<>());
        bInfo.put("arch_arm", new LinkedHashMap<>());
        bInfo.put("arch_x86", new LinkedHashMap<>());
        doc.put("b_info", bInfo);

        if (!config.disks().isEmpty())
        {
            final List<Object> disks = new ArrayList<>();
            for (final DiskSpec d : config.disks())
            {
                disks.add(disk(d));
            }
            doc.put("disks", disks);
        }
        if (!config.vifs().isEmpty())
        {
            final List<Object> nics = new ArrayList<>();
            for (final VifSpec v : config.vifs())
            {
                nics.add(nic(v));
            }
            doc.put("nics", nics);
        }
        for (final XlConfig.ShutdownEvent e : XlConfig.ShutdownEvent.values())
        {
            final XlConfig.ShutdownAction a = config.action(e);
            if (a != XlConfig.ShutdownAction.DESTROY)
            {
                doc.put(e.key(), a.jsonName());
            }
        }
        return doc;
    }

    private static Map<String, Object> disk(final DiskSpec d)
    {
        final Map<String, Object> m = new LinkedHashMap<>();
        putIfPresent(m, "backend_domname", d.backend());
        putIfPresent(m, "pdev_path", d.target());
        m.put("vdev", d.vdev());
        putIfPresent(m, "backend", d.backendType());
        m.put("format", d.format().xlName());
        putIfPresent(m, "script", d.script());
        if (d.removable())
        {
            m.put("removable", 1);
        }
        if (d.readwrite())
        {
            m.put("readwrite", 1);
        }
        if (d.cdrom())
        {
            m.put("is_cdrom", 1);
        }
        if (d.directIoSafe())
        {
            m.put("direct_io_safe", Boolean.TRUE);
        }
        putDefbool(m, "discard_enable", d.discard());
        putIfPresent(m, "specification", d.specification());
        return m;
    }

    private static Map<String, Object> nic(final VifSpec v)
    {
        final Map<String, Object> m = new LinkedHashMap<>();
        putIfPresent(m, "backend_domname", v.backend());
        m.put("devid", v.devid());
        if (v.mtu() != 0)
        {
            m.put("mtu", v.mtu());
        }
        putIfPresent(m, "model", v.model());
        putIfPresent(m, "mac", v.mac());
        putIfPresent(m, "ip", v.ip());
        putIfPresent(m, "bridge", v.bridge());
        putIfPresent(m, "ifname", v.vifname());
        putIfPresent(m, "script", v.script());
        if (v.typeGiven())
        {
            m.put("nictype", v.ioemu() ? "vif_ioemu" : "vif");
        }
        if (v.rateBytesPerInterval() != 0)
        {
            m.put("rate_bytes_per_interval", v.rateBytesPerInterval());
            m.put("rate_interval_usecs", v.rateIntervalUsecs());
        }
        putIfPresent(m, "gatewaydev", v.gatewaydev());
        putDefbool(m, "trusted", v.trusted());
        return m;
    }

    private static void putIfPresent(final Map<String, Object> m, final String key, final Object value)
    {
        if (null != value)
        {
            m.put(key, value);
        }
    }

    /**
     * libxl_defbool in JSON: the strings "True" and "False"; left out at its default.
     */
    private static void putDefbool(final Map<String, Object> m, final String key, final Boolean value)
    {
        if (null != value)
        {
            m.put(key, value ? "True" : "False");
        }
    }

    private static String canonicalUuid(final String uuid)
    {
        final String hex = uuid.replace("-", "").toLowerCase(java.util.Locale.ROOT);
        if (!hex.matches("[0-9a-f]{32}"))
        {
            throw new IllegalArgumentException("not a UUID: " + uuid);
        }
        return hex.substring(0, 8) + "-" + hex.substring(8, 12) + "-" + hex.substring(12, 16) + "-" +
            hex.substring(16, 20) + "-" + hex.substring(20);
    }
}
