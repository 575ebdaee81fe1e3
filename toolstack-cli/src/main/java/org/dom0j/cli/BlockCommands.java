package org.dom0j.cli;

import java.util.List;

import org.dom0j.blkback.BlkbackDeviceType;
import org.dom0j.common.Json;
import org.dom0j.toolstack.DeviceHotplug;
import org.dom0j.toolstack.XenbusDevices;
import org.dom0j.toolstack.xl.DiskSpec;
import org.dom0j.toolstack.xl.VirtualDisk;
import org.dom0j.xenstore.XenStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code dom0j block-attach}, {@code block-detach} and {@code block-list}: {@code xl}'s disk hot-plug, on a running
 * guest, through xenstore as libxl writes it ({@link DeviceHotplug}). Served by {@code dom0j serve}'s blkback.
 * No hotplug script runs for a disk, on any platform: dom0j's blkback opens the target itself (libxl would run the
 * disk's {@code script}, {@code /bin/true} here unless the spec names another).
 */
final class BlockCommands
{
    private BlockCommands()
    {
    }

    /**
     * {@code block-attach DOM TARGET VDEV [r|w]}, or {@code block-attach DOM DISKSPEC...} in xl's disk spec syntax.
     */
    @Command(
        name = "block-attach",
        description = "Attach a disk to a running domain (as xl block-attach does); returns once the backend has " +
            "taken it.",
        footer = {
            "",
            "Examples:",
            "  dom0j block-attach web1 /srv/data.img xvdb w",
            "  dom0j block-attach web1 'format=raw, vdev=xvdc, access=ro, target=/srv/iso.img'",
            "  dom0j block-attach 3 nbd://nas:10809/disk1 xvdd",
            "  dom0j block-attach web1 /srv/b.img xvde --backend-type dom0j-vbd   (served beside xen-blkback)" })
    static final class Attach extends DeviceCommands.Base
    {
        @Parameters(index = "0", paramLabel = "DOM", description = "The domain: a name or a domid.")
        private String dom;

        @Parameters(index = "1..*", arity = "1..*", paramLabel = "DISK",
            description = "TARGET VDEV [r|w] (a file, a block device or an NBD URI; xvdb, hdc, sda...; read-write " +
                "by default), or an xl disk spec (xl-disk-configuration(5)), in one or several words.")
        private List<String> disk;

        @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "10",
            description = "How long to wait for the backend to take the disk. Default: ${DEFAULT-VALUE}.")
        private int timeoutSeconds;

        @Option(names = "--backend-type", paramLabel = "NAME", defaultValue = BlkbackDeviceType.NAME,
            description = "Put the disk's backend directory under backend/NAME: the disks a 'dom0j serve " +
                "--blk-type NAME' serves beside Linux's xen-blkback (which takes backend/vbd). " +
                "Default: ${DEFAULT-VALUE}.")
        private String backendType;

        @Override
        public Integer call() throws Exception
        {
            final DiskSpec spec;
            try
            {
                if (!XenbusDevices.isTypeName(backendType))
                {
                    throw new IllegalArgumentException("--backend-type must be " + XenbusDevices.TYPE_NAME_RULE + ": " +
                        backendType);
                }
                spec = DiskSpec.parse(specOf(disk));
            }
            catch (final IllegalArgumentException ex)
            {
                err().println("dom0j block-attach: " + ex.getMessage());
                err().flush();
                return ExitCodes.FAILURE;
            }
            return DeviceCommands.run(root, "block-attach", dom, err(), (xs, domid, platform) ->
            {
                final String be = DeviceHotplug.attachDisk(xs, domid, spec, backendType);
                DeviceHotplug.awaitBackendOrRemove(xs, be,
                    XenbusDevices.frontendPath(domid, "vbd", Integer.toString(spec.deviceNumber())),
                    timeoutSeconds * 1000L);
                if (root.options().json())
                {
                    out().println(Json.write(java.util.Map.of("domid", domid, "vdev", spec.vdev(), "devid",
                        spec.deviceNumber(), "backend", be)));
                }
                else
                {
                    out().println("Attached " + spec.target() + " to domain " + domid + " as " + spec.vdev() +
                        " (" + backendType + " " + spec.deviceNumber() + ", " +
                        (spec.readwrite() ? "read-write" : "read-only") + ")");
                }
                out().flush();
                return ExitCodes.OK;
            });
        }

        /**
         * @return the words as one xl disk spec: {@code TARGET VDEV [r|w]} made positional, anything else joined
         *         with commas as xl does with block-attach's arguments.
         */
        static String specOf(final List<String> words)
        {
            if ((words.size() == 2 || words.size() == 3) && isVdev(words.get(1)) &&
                (words.size() == 2 || words.get(2).matches("r|ro|w|rw")))
            {
                // target= last: it takes the rest verbatim (an NBD URI's '=' and '?' included), as xl reads it.
                return "format=raw, vdev=" + words.get(1) + ", access=" + (words.size() == 3 ? words.get(2) : "rw") +
                    ", target=" + words.get(0);
            }
            return String.join(",", words);
        }

        private static boolean isVdev(final String word)
        {
            try
            {
                VirtualDisk.deviceNumber(word);
                return true;
            }
            catch (final IllegalArgumentException ex)
            {
                return false;
            }
        }
    }

    /**
     * {@code block-detach DOM VDEV|DEVID [--force]}.
     */
    @Command(
        name = "block-detach",
        description = "Detach a disk from a running domain (as xl block-detach does): the guest lets it go, then " +
            "its xenstore entries are removed.",
        footer = {
            "",
            "Examples:",
            "  dom0j block-detach web1 xvdb",
            "  dom0j block-detach 3 51728 --force" })
    static final class Detach extends DeviceCommands.DetachBase
    {
        @Parameters(index = "1", paramLabel = "VDEV", description = "The disk: its name (xvdb) or number (51728).")
        private String vdev;

        @Override
        String name()
        {
            return "block-detach";
        }

        @Override
        String type()
        {
            return "vbd";
        }

        @Override
        String devid(final XenStore xs, final int domid)
        {
            return Integer.toString(vdev.matches("[0-9]{1,10}") ? Integer.parseInt(vdev) :
                VirtualDisk.deviceNumber(vdev));
        }
    }

    /**
     * {@code block-list DOM}.
     */
    @Command(
        name = "block-list",
        description = "List a domain's disks (as xl block-list does), with --json for scripts.",
        footer = {
            "",
            "Example:",
            "  dom0j block-list web1" })
    static final class ListDisks extends DeviceCommands.Base
    {
        @Parameters(index = "0", paramLabel = "DOM", description = "The domain: a name or a domid.")
        private String dom;

        @Override
        public Integer call() throws Exception
        {
            return DeviceCommands.run(root, "block-list", dom, err(), (xs, domid, platform) ->
            {
                DeviceCommands.print(out(), DeviceHotplug.list(xs, "vbd", domid), root.options().json());
                return ExitCodes.OK;
            });
        }
    }
}
