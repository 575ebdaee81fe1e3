package org.dom0j.cli;

import org.dom0j.domctl.DomainInfo;
import org.dom0j.xenstore.XenStore;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A domain's configuration as {@code xl list -l} prints it ({@code libxl_domain_config} in JSON), rebuilt from
 * what the hypervisor and xenstore say, since dom0j keeps no configuration of its own:
 * <ul>
 * <li>{@code c_info.name}: {@code /local/domain/<domid>/name}; {@code c_info.uuid}: from
 *     {@code /local/domain/<domid>/vm} ({@code /vm/<uuid>}), when present; {@code c_info.type}:
 *     {@code /libxl/<domid>/type} (pv, pvh, hvm), when libxl wrote it.</li>
 * <li>{@code b_info.max_vcpus}, {@code b_info.max_memkb}: the hypervisor; {@code b_info.target_memkb}:
 *     {@code /local/domain/<domid>/memory/target}, else the hypervisor's current allocation.</li>
 * <li>{@code disks}, {@code nics}: the backend directories this domain's backends own
 *     ({@code /local/domain/<backend>/backend/{vbd,vbd3,qdisk,vif}/<domid>/<devid>}), written by the toolstack:
 *     {@code params}, {@code dev}, {@code mode}, {@code device-type}, {@code mac}, {@code bridge}. Devices served
 *     by other driver domains are not listed.</li>
 * </ul>
 * Only the toolstack's keys are read (the guest cannot write them), and each is still checked: a value that does
 * not parse is left out.
 * <p>
 * Runs on the CLI's thread.
 */
final class DomainConfigJson
{
    private static final Pattern UUID = Pattern.compile("[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}");
    private static final List<String> DISK_TYPES = List.of("vbd", "vbd3", "qdisk");
    private static final int MAX_DEVICES = 256;

    private DomainConfigJson()
    {
    }

    /**
     * @param xs            xenstore, privileged.
     * @param backendDomid  the domain whose backend directories are read (this one).
     * @param domain        the domain.
     * @return {@code {"domid": N, "config": {...}}}.
     */
    static Map<String, Object> describe(final XenStore xs, final int backendDomid, final DomainSession.Domain domain)
    {
        final DomainInfo info = domain.info();
        final int domid = info.domid();
        final String path = "/local/domain/" + domid;
        final Map<String, Object> cInfo = new LinkedHashMap<>();
        final String type = xs.readOrNull("/libxl/" + domid + "/type");
        if ("pv".equals(type) || "pvh".equals(type) || "hvm".equals(type))
        {
            cInfo.put("type", type);
        }
        cInfo.put("name", domain.name());
        final String vm = xs.readOrNull(path + "/vm");
        if (null != vm && vm.startsWith("/vm/") && UUID.matcher(vm.substring(4)).matches())
        {
            cInfo.put("uuid", vm.substring(4).toLowerCase(java.util.Locale.ROOT));
        }
        final Map<String, Object> bInfo = new LinkedHashMap<>();
        bInfo.put("max_vcpus", info.vcpus());
        bInfo.put("max_memkb", info.maxMemoryKiB());
        final long target = parseKiB(xs.readOrNull(path + "/memory/target"));
        bInfo.put("target_memkb", target >= 0 ? target : info.memoryKiB());
        final Map<String, Object> config = new LinkedHashMap<>();
        config.put("c_info", cInfo);
        config.put("b_info", bInfo);
        config.put("disks", disks(xs, backendDomid, domid));
        config.put("nics", nics(xs, backendDomid, domid));
        final Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("domid", domid);
        doc.put("config", config);
        return doc;
    }

    private static List<Object> disks(final XenStore xs, final int backendDomid, final int domid)
    {
        final List<Object> disks = new ArrayList<>();
        for (final String type : DISK_TYPES)
        {
            final String dir = "/local/domain/" + backendDomid + "/backend/" + type + "/" + domid;
            for (final String devid : devices(xs, dir))
            {
                final String b = dir + "/" + devid;
                final Map<String, Object> disk = new LinkedHashMap<>();
                disk.put("backend_domid", backendDomid);
                disk.put("pdev_path", xs.readOrNull(b + "/params"));
                disk.put("vdev", xs.readOrNull(b + "/dev"));
                disk.put("backend", "vbd".equals(type) ? "phy" : "qdisk".equals(type) ? "qdisk" : "tap");
                final String mode = xs.readOrNull(b + "/mode");
                disk.put("readwrite", null != mode && mode.startsWith("w") ? 1 : 0);
                disk.put("is_cdrom", "cdrom".equals(xs.readOrNull(b + "/device-type")) ? 1 : 0);
                disk.put("devid", Integer.parseInt(devid));
                disks.add(disk);
            }
        }
        return disks;
    }

    private static List<Object> nics(final XenStore xs, final int backendDomid, final int domid)
    {
        final List<Object> nics = new ArrayList<>();
        final String dir = "/local/domain/" + backendDomid + "/backend/vif/" + domid;
        for (final String devid : devices(xs, dir))
        {
            final String b = dir + "/" + devid;
            final Map<String, Object> nic = new LinkedHashMap<>();
            nic.put("backend_domid", backendDomid);
            nic.put("devid", Integer.parseInt(devid));
            nic.put("mac", xs.readOrNull(b + "/mac"));
            final String bridge = xs.readOrNull(b + "/bridge");
            if (null != bridge)
            {
                nic.put("bridge", bridge);
            }
            nics.add(nic);
        }
        return nics;
    }

    /**
     * @return the numeric device ids under {@code dir}, in order, at most {@link #MAX_DEVICES}.
     */
    static List<String> devices(final XenStore xs, final String dir)
    {
        final List<String> devids = new ArrayList<>();
        if (!xs.exists(dir))
        {
            return devids;
        }
        for (final String devid : xs.directory(dir))
        {
            final long value = parseKiB(devid);
            if (value >= 0 && value <= Integer.MAX_VALUE && devids.size() < MAX_DEVICES)
            {
                devids.add(devid);
            }
        }
        devids.sort((a, b) -> Integer.compare(Integer.parseInt(a), Integer.parseInt(b)));
        return devids;
    }

    /**
     * @return the decimal number {@code text} holds (at most 15 digits), or -1.
     */
    private static long parseKiB(final String text)
    {
        if (null == text || text.isEmpty() || text.length() > 15)
        {
            return -1;
        }
        for (int i = 0; i < text.length(); i++)
        {
            if (text.charAt(i) < '0' || text.charAt(i) > '9')
            {
                return -1;
            }
        }
        return Long.parseLong(text);
    }
}
