package org.dom0j.sim;

import org.dom0j.common.Errno;
import org.dom0j.common.XenException;
import org.dom0j.sim.guest.NetGuest;
import org.dom0j.toolstack.DeviceHotplug;
import org.dom0j.toolstack.DomainBuilder;
import org.dom0j.toolstack.xl.DiskSpec;
import org.dom0j.toolstack.xl.VifSpec;
import org.dom0j.toolstack.xl.XlConfig;
import org.dom0j.toolstack.xl.XlConfigException;
import org.dom0j.xenstore.XenStore;
import org.dom0j.xenstore.XsPermission;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The simulator's {@code xl create}: a PV domain sized as the config says (memory, vCPUs), introduced to xenstored,
 * {@code /local/domain/<domid>} and {@code /vm/<uuid>} written, each disk and vif attached with libxl's backend and
 * frontend keys, and, as libxl does, a wait of up to {@value #BACKEND_TIMEOUT_MS} ms for every backend to reach
 * InitWait (a {@code dom0j serve} must be running); the domain is left paused. What runs inside a simulated guest
 * is not a kernel but dom0j's own frontends, started by the toolstack after {@link #unpause} ({@code dom0j sim boot}).
 * <p>
 * What it refuses: HVM and PVH guests, memory over {@value SimDomainDescriptor#MAX_PAGES} pages (1 GiB), disks
 * that are not raw files or NBD exports, empty cdroms, and backends other than Domain-0. Kernel, ramdisk, command
 * line and the actions on shutdown are accepted but not used (a note says so).
 * <p>
 * Threads: one at a time.
 */
public final class SimDomainBuilder implements DomainBuilder
{
    /** How long libxl waits for a new device's backend (LIBXL_INIT_TIMEOUT). */
    public static final long BACKEND_TIMEOUT_MS = DeviceHotplug.INIT_TIMEOUT_MS;
    /** The highest domid given to a guest (DOMID_FIRST_RESERVED - 1). */
    private static final int MAX_DOMID = 0x7FEF;
    /** Where the last domid given is kept, in the machine's directory. */
    private static final String LAST_DOMID_FILE = "domid-last";

    private final SimMachine machine;

    /**
     * @param machine the running machine (joined); closed with this builder.
     */
    public SimDomainBuilder(final SimMachine machine)
    {
        this.machine = machine;
    }

    @Override
    public void check(final XlConfig config, final Consumer<String> notes)
    {
        if (config.type() != XlConfig.DomainType.PV)
        {
            throw new XlConfigException(config.source(), config.line("type"), 0, "type " + config.type().xlName() +
                ": the simulator runs PV guests only");
        }
        final long mib = Math.max(config.effectiveMemoryMib(), null == config.maxmemMib() ? 0 : config.maxmemMib());
        if (mib * 256 > SimDomainDescriptor.MAX_PAGES)
        {
            throw new XlConfigException(config.source(), config.line(null != config.maxmemMib() ? "maxmem" : "memory"),
                0, mib + " MiB: the simulator gives a guest at most " + SimDomainDescriptor.MAX_PAGES / 256 + " MiB");
        }
        final String name = config.name();
        for (final String domid : machine.xenStore().directory("/local/domain"))
        {
            if (name.equals(machine.xenStore().readOrNull("/local/domain/" + domid + "/name")))
            {
                throw new XlConfigException(config.source(), config.line("name"), 0, "a domain named " + name +
                    " already exists (domain " + domid + ")");
            }
        }
        if (null != config.kernel() || null != config.ramdisk() || null != config.cmdline())
        {
            notes.accept("the simulator boots no kernel: kernel, ramdisk and cmdline are checked but not used (the " +
                "guest runs dom0j's frontends)");
        }
        for (final XlConfig.ShutdownEvent e : XlConfig.ShutdownEvent.values())
        {
            final XlConfig.ShutdownAction a = config.action(e);
            if (a == XlConfig.ShutdownAction.COREDUMP_DESTROY || a == XlConfig.ShutdownAction.COREDUMP_RESTART)
            {
                notes.accept(e.key() + "=" + a.configName() + ": the simulator has no core to dump; the rest is done");
            }
        }
        for (final DiskSpec d : config.disks())
        {
            if (null == d.target() || d.target().isEmpty())
            {
                throw new XlConfigException(config.source(), config.line("disk"), 0, "disk " + d.vdev() +
                    ": an empty cdrom drive is not served on the simulator");
            }
            if (d.format() != DiskSpec.Format.RAW)
            {
                throw new XlConfigException(config.source(), config.line("disk"), 0, "disk " + d.vdev() + ": format " +
                    d.format().xlName() + ": dom0j serve serves raw files, block devices and NBD exports only");
            }
            checkBackend(config, "disk", d.vdev(), d.backend());
            if (null != d.backendType() && !"phy".equals(d.backendType()))
            {
                notes.accept("disk " + d.vdev() + ": backendtype " + d.backendType() + " is not used: dom0j serve " +
                    "serves every vbd");
            }
        }
        for (final VifSpec v : config.vifs())
        {
            checkBackend(config, "vif", Integer.toString(v.devid()), v.backend());
            if (v.ioemu() || null != v.model())
            {
                notes.accept("vif " + v.devid() + ": type ioemu and model are for emulated NICs, which the " +
                    "simulator has none of");
            }
        }
    }

    private static void checkBackend(final XlConfig config, final String key, final String what, final String backend)
    {
        if (null != backend && !"0".equals(backend) && !"Domain-0".equals(backend))
        {
            throw new XlConfigException(config.source(), config.line(key), 0, key + " " + what + ": backend " +
                backend + ": the simulator's only backend domain is Domain-0");
        }
    }

    @Override
    public int create(final XlConfig config, final String uuid)
    {
        final int pages = (int)(config.effectiveMemoryMib() * 256);
        final XenStore xs = machine.xenStore();
        SimDomain guest = null;
        int domid = lastDomid();
        int tries = 0;
        while (null == guest)
        {
            if (++tries > MAX_DOMID)
            {
                throw new XenException(Errno.ENOSPC.number(), "no free domid on the simulator");
            }
            domid = freeDomid(domid + 1);
            try
            {
                guest = machine.createGuest(domid, config.name(), pages);
            }
            catch (final XenException ex)
            {
                if (ex.errno() != Errno.EEXIST.number())
                {
                    throw ex;
                }
            }
        }
        remember(domid);
        try
        {
            guest.setVcpus(null != config.maxVcpus() ? config.maxVcpus() : config.effectiveVcpus());
            new SimDomainControl(machine.host(), 0).pause(domid);
            writeDomainKeys(xs, domid, config, uuid);
            final List<String> backends = new ArrayList<>();
            for (final DiskSpec d : config.disks())
            {
                backends.add(DeviceHotplug.attachDisk(xs, domid, d));
            }
            for (final VifSpec v : config.vifs())
            {
                backends.add(DeviceHotplug.attachVif(xs, domid, v,
                    null != v.mac() ? v.mac() : NetGuest.defaultMac(domid, Integer.toString(v.devid()))));
            }
            for (final String be : backends)
            {
                DeviceHotplug.awaitBackend(xs, be, BACKEND_TIMEOUT_MS);
            }
            return domid;
        }
        catch (final RuntimeException ex)
        {
            machine.destroyGuest(domid);
            throw ex;
        }
    }

    /**
     * The first domid after {@code from} (wrapping past the last one to 1) with neither a domain nor a xenstore
     * directory: Xen's domid_alloc searches on from the last domid it gave, so that a domain built again after a
     * reboot never gets the domid it had.
     */
    private int freeDomid(final int from)
    {
        for (int i = 0; i < MAX_DOMID; i++)
        {
            final int domid = 1 + (Math.max(0, from - 1) + i) % MAX_DOMID;
            if (!machine.host().exists(domid) && !machine.xenStore().exists("/local/domain/" + domid))
            {
                return domid;
            }
        }
        throw new XenException(Errno.ENOSPC.number(), "no free domid on the simulator");
    }

    /**
     * @return the domid this machine's toolstack gave last (0 at first), from the host directory: the builders of
     *         every process of the machine share it, as the hypervisor's allocator is one.
     */
    private int lastDomid()
    {
        try
        {
            final Path file = machine.directory().resolve(LAST_DOMID_FILE);
            final int last = Files.exists(file) ? Integer.parseInt(Files.readString(file).strip()) : 0;
            return last >= 0 && last <= MAX_DOMID ? last : 0;
        }
        catch (final IOException | NumberFormatException ex)
        {
            return 0;
        }
    }

    private void remember(final int domid)
    {
        try
        {
            Files.writeString(machine.directory().resolve(LAST_DOMID_FILE), Integer.toString(domid));
        }
        catch (final IOException ex)
        {
            // The next search starts lower: a domid may come back sooner than on Xen, nothing worse.
        }
    }

    private static void writeDomainKeys(final XenStore xs, final int domid, final XlConfig config, final String uuid)
    {
        final String dom = "/local/domain/" + domid;
        final long targetKib = config.effectiveMemoryMib() * 1024;
        final long maxKib = null != config.maxmemMib() ? config.maxmemMib() * 1024 : targetKib;
        final int maxVcpus = null != config.maxVcpus() ? config.maxVcpus() : config.effectiveVcpus();
        xs.transaction(tx ->
        {
            tx.write(dom + "/vm", "/vm/" + uuid);
            tx.write(dom + "/memory/target", Long.toString(targetKib));
            tx.write(dom + "/memory/static-max", Long.toString(maxKib));
            for (int cpu = 0; cpu < maxVcpus; cpu++)
            {
                tx.write(dom + "/cpu/" + cpu + "/availability", cpu < config.effectiveVcpus() ? "online" : "offline");
            }
            // control/ belongs to the guest, as libxl makes it: the toolstack writes control/shutdown there and
            // the guest acknowledges by writing "" and says which requests it takes (feature-poweroff, ...).
            tx.mkdir(dom + "/control");
            tx.setPermissions(dom + "/control", List.of(new XsPermission(XsPermission.Access.NONE, domid),
                new XsPermission(XsPermission.Access.READ, 0)));
            tx.write("/vm/" + uuid + "/uuid", uuid);
            tx.write("/vm/" + uuid + "/name", config.name());
            return null;
        });
    }

    @Override
    public void unpause(final int domid)
    {
        new SimDomainControl(machine.host(), 0).unpause(domid);
    }

    @Override
    public void close()
    {
        machine.close();
    }
}
