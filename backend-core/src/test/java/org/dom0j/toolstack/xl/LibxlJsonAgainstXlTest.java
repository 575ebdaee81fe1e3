package org.dom0j.toolstack.xl;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Our {@code libxl_domain_config} JSON against what Debian's own {@code xl create -n} prints for the same file.
 * <p>
 * xl needs a Xen host even for a dry run: {@code libxl_ctx_alloc} opens {@code /dev/xen/privcmd} and xenstore, and
 * parsing asks the hypervisor for its physinfo. So xl runs in a mount namespace whose {@code /dev/xen/privcmd} is an
 * ordinary file, with a listening socket as xenstored (a dry run sends it nothing), and with a small preloaded library,
 * compiled here from Xen's headers, that answers the physinfo sysctl (2 CPUs) and refuses every other hypercall.
 * Skipped, saying why, without root (for the namespace), xl, gcc or Xen's headers.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LibxlJsonAgainstXlTest
{
    private static final String SHIM = """
        #define _GNU_SOURCE
        #define __XEN_TOOLS__ 1
        #include <dlfcn.h>
        #include <errno.h>
        #include <stdarg.h>
        #include <stdint.h>
        #include <string.h>
        #include <sys/ioctl.h>
        #include <xen/xen.h>
        #include <xen/sysctl.h>
        #include <xen/sys/privcmd.h>
        int ioctl(int fd, unsigned long req, ...)
        {
            va_list ap;
            va_start(ap, req);
            void *arg = va_arg(ap, void *);
            va_end(ap);
            if (req == IOCTL_PRIVCMD_HYPERCALL) {
                privcmd_hypercall_t *h = arg;
                if (h->op == __HYPERVISOR_sysctl) {
                    struct xen_sysctl *s = (void *)(uintptr_t)h->arg[0];
                    if (s->cmd == XEN_SYSCTL_physinfo) {
                        memset(&s->u.physinfo, 0, sizeof s->u.physinfo);
                        s->u.physinfo.threads_per_core = 1;
                        s->u.physinfo.cores_per_socket = 2;
                        s->u.physinfo.nr_cpus = 2;
                        s->u.physinfo.max_cpu_id = 1;
                        s->u.physinfo.nr_nodes = 1;
                        s->u.physinfo.total_pages = 1 << 20;
                        s->u.physinfo.free_pages = 1 << 19;
                        s->u.physinfo.max_mfn = 1 << 20;
                        return 0;
                    }
                }
                errno = ENOSYS;
                return -1;
            }
            int (*real)(int, unsigned long, void *) = dlsym(RTLD_NEXT, "ioctl");
            return real(fd, req, arg);
        }
        """;

    private static final String UUID = "6f1a0c52-3b7e-4d0a-9a51-0c1d2e3f4a5b";

    @TempDir
    static Path dir;

    private static Path xl;
    private static Path shim;
    private static Path kernel;
    private static Path ramdisk;

    @BeforeAll
    static void prepare() throws Exception
    {
        xl = Path.of("/usr/lib/xen-4.17/bin/xl");
        Assumptions.assumeTrue(Files.isExecutable(xl), "Debian's xl 4.17 is not installed (" + xl + "; package " +
            "xen-utils-4.17)");
        Assumptions.assumeTrue(Files.exists(Path.of("/usr/include/xen/sys/privcmd.h")),
            "Xen's headers are missing (package libxen-dev)");
        Assumptions.assumeTrue(run(List.of("unshare", "-m", "true"), null).exit == 0,
            "cannot make a mount namespace (needs root): xl's dry run needs a fake /dev/xen/privcmd");
        shim = dir.resolve("physinfo-shim.so");
        final Path source = dir.resolve("physinfo-shim.c");
        Files.writeString(source, SHIM);
        final Result cc = run(List.of("gcc", "-shared", "-fPIC", "-o", shim.toString(), source.toString(), "-ldl"),
            null);
        Assumptions.assumeTrue(cc.exit != 127, "gcc is not installed");
        assertThat(cc.exit).as("gcc: " + cc.err).isZero();
        kernel = Files.writeString(dir.resolve("vmlinuz"), "not really a kernel");
        ramdisk = Files.writeString(dir.resolve("initrd.img"), "not really a ramdisk");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        // The usual PV guest.
        """
        name = "g1"
        type = "pv"
        memory = 256
        maxmem = 512
        vcpus = 2
        kernel = "@KERNEL@"
        cmdline = "console=hvc0 root=/dev/xvda1"
        disk = [ '/srv/g1.img,raw,xvda,rw', 'vdev=xvdb,access=ro,target=/srv/b,with,commas.img' ]
        vif = [ 'mac=00:16:3E:00:00:01,bridge=xenbr0' ]
        on_crash = "preserve"
        """,
        // The least a guest can say.
        """
        name = "tiny"
        kernel = "@KERNEL@"
        """,
        // root and extra, a ramdisk, maxvcpus, memory without maxmem, every action.
        """
        name = 'g2'
        memory = 0x80
        vcpus = 1
        maxvcpus = 4
        kernel = '@KERNEL@'
        ramdisk = '@RAMDISK@'
        root = '/dev/xvda1 ro'
        extra = 'console=hvc0'
        on_poweroff = 'preserve'
        on_reboot = 'rename-restart'
        on_watchdog = 'coredump-destroy'
        on_crash = 'coredump-restart'
        on_soft_reset = 'destroy'
        """,
        // Disk specs in their many forms.
        """
        name = "disks"
        kernel = "@KERNEL@"
        memory = 64
        disk = [ 'phy:/dev/vg/g,xvda,w',
                 'file:/srv/old.img,hda,r',
                 'qcow2:/srv/q.qcow2,xvdc,rw',
                 '/srv/x.vhd,vhd,sdb,ro',
                 ',,hdc:cdrom,r',
                 'vdev=xvdd,devtype=cdrom,target=/srv/cd.iso',
                 'format=raw,vdev=xvde,access=rw,backendtype=phy,script=/bin/true,target=/srv/e.img',
                 'vdev=d1p2,discard,direct-io-safe,target=/srv/f.img',
                 'backend=Domain-0,vdev=xvdq,target=/srv/q.img',
                 'vdev=xvdaa,no-discard,backendtype=qdisk,format=qcow2,target=/srv/aa.qcow2', ]
        """,
        // vifs with every setting dom0j reads.
        """
        name = "nets"
        kernel = "@KERNEL@"
        vif = [ '',
                'mac=00:16:3e:aa:bb:cc,bridge=br1,ip=10.0.0.7,script=vif-route,backend=Domain-0',
                'model=e1000,type=ioemu,vifname=guest-eth2,rate=10Mb/s@20ms,gatewaydev=eth0',
                'devid=7,mtu=9000,trusted,type=vif',
                'rate=1MB/s,untrusted' ]
        """,
        // A PVH guest.
        """
        name = "pvh1"
        type = "pvh"
        memory = 512
        kernel = "@KERNEL@"
        cmdline = "console=hvc0"
        """ })
    void shouldWriteWhatXlCreateDryRunPrints(final String template) throws Exception
    {
        final String text = template.replace("@KERNEL@", kernel.toString()).replace("@RAMDISK@", ramdisk.toString()) +
            "uuid = \"" + UUID + "\"\n";
        final Path cfg = Files.writeString(dir.resolve("guest.cfg"), text);
        final String ours = LibxlJson.domainConfig(XlConfig.read(cfg), UUID);
        final String theirs = xlDryRun(cfg);
        assertThat(ours).as("xl printed:%n%s", theirs).isEqualTo(compact(theirs));
    }

    private static String xlDryRun(final Path cfg) throws Exception
    {
        final Path socket = dir.resolve("xenstored.sock");
        Files.deleteIfExists(socket);
        try (ServerSocketChannel xenstored = ServerSocketChannel.open(StandardProtocolFamily.UNIX))
        {
            xenstored.bind(UnixDomainSocketAddress.of(socket));
            final String script = "mount -t tmpfs tmpfs /dev && " +
                "mknod -m 666 /dev/null c 1 3 && mknod -m 666 /dev/urandom c 1 9 && " +
                "mknod -m 666 /dev/random c 1 8 && mknod -m 666 /dev/zero c 1 5 && " +
                "mkdir /dev/xen && touch /dev/xen/privcmd && exec \"$@\"";
            final Result r = run(List.of("unshare", "-m", "sh", "-c", script, "sh", xl.toString(), "-N", "create",
                cfg.toString()), socket);
            assertThat(r.exit).as("xl -N create failed: %s", r.err).isZero();
            return r.out;
        }
    }

    /**
     * xl's pretty-printed JSON without the white space between tokens.
     */
    static String compact(final String json)
    {
        final StringBuilder out = new StringBuilder();
        boolean inString = false;
        for (int i = 0; i < json.length(); i++)
        {
            final char c = json.charAt(i);
            if (inString)
            {
                out.append(c);
                if (c == '\\')
                {
                    out.append(json.charAt(++i));
                }
                else if (c == '"')
                {
                    inString = false;
                }
            }
            else if (c == '"')
            {
                inString = true;
                out.append(c);
            }
            else if (!Character.isWhitespace(c))
            {
                out.append(c);
            }
        }
        return out.toString();
    }

    private record Result(int exit, String out, String err)
    {
    }

    private static Result run(final List<String> command, final Path xenstored) throws Exception
    {
        final ProcessBuilder pb = new ProcessBuilder(command);
        if (null != xenstored)
        {
            pb.environment().put("XENSTORED_PATH", xenstored.toString());
            pb.environment().put("LD_PRELOAD", shim.toString());
        }
        final Process p;
        try
        {
            p = pb.start();
        }
        catch (final IOException ex)
        {
            return new Result(127, "", ex.getMessage());
        }
        p.getOutputStream().close();
        final var err = new java.util.concurrent.CompletableFuture<String>();
        final Thread errReader = new Thread(() ->
        {
            try
            {
                err.complete(new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
            }
            catch (final IOException ex)
            {
                err.complete(ex.toString());
            }
        });
        errReader.start();
        final String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("%s finished", command).isTrue();
        return new Result(p.exitValue(), out, err.get(60, TimeUnit.SECONDS));
    }
}
