package org.dom0j.toolstack.xl;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The xl config file: its syntax, the typed settings, and the messages that say which line is wrong and why.
 */
@Timeout(10)
class XlConfigTest
{
    private static XlConfig parse(final String text)
    {
        return XlConfig.parse("g.cfg", text);
    }

    private static void assertError(final String text, final String message)
    {
        assertThatThrownBy(() -> parse(text)).isInstanceOf(XlConfigException.class).hasMessage(message);
    }

    @Test
    void shouldReadTheSettingsOfAPvGuest()
    {
        final XlConfig c = parse("""
            # a comment
            name = "web1"   # trailing comment
            type = 'pv'; memory = 0x100
            maxmem = "512"
            vcpus = 2
            kernel = "/boot/vmlinuz"
            ramdisk = "/boot/initrd.img"
            extra = "console=hvc0"
            root = "/dev/xvda1 ro"
            disk = [ '/srv/web1.img,raw,xvda,rw',
                     'vdev=xvdb, access=ro, target=/srv/data,with,commas.img',
                   ]
            vif = [ "mac=00:16:3E:01:02:03,bridge=xenbr0", ]
            on_crash = "preserve"
            """);
        assertThat(c.name()).isEqualTo("web1");
        assertThat(c.type()).isEqualTo(XlConfig.DomainType.PV);
        assertThat(c.memoryMib()).isEqualTo(256L);
        assertThat(c.maxmemMib()).isEqualTo(512L);
        assertThat(c.vcpus()).isEqualTo(2);
        assertThat(c.kernel()).isEqualTo("/boot/vmlinuz");
        assertThat(c.ramdisk()).isEqualTo("/boot/initrd.img");
        assertThat(c.cmdline()).isEqualTo("root=/dev/xvda1 ro console=hvc0");
        assertThat(c.disks()).hasSize(2);
        assertThat(c.disks().get(0)).extracting(DiskSpec::target, DiskSpec::vdev, DiskSpec::deviceNumber,
            DiskSpec::readwrite, DiskSpec::format).containsExactly("/srv/web1.img", "xvda", 51712, true,
            DiskSpec.Format.RAW);
        assertThat(c.disks().get(1)).extracting(DiskSpec::target, DiskSpec::vdev, DiskSpec::deviceNumber,
            DiskSpec::readwrite).containsExactly("/srv/data,with,commas.img", "xvdb", 51728, false);
        assertThat(c.vifs()).singleElement().extracting(VifSpec::devid, VifSpec::mac, VifSpec::bridge)
            .containsExactly(0, "00:16:3e:01:02:03", "xenbr0");
        assertThat(c.action(XlConfig.ShutdownEvent.CRASH)).isEqualTo(XlConfig.ShutdownAction.PRESERVE);
        assertThat(c.action(XlConfig.ShutdownEvent.REBOOT)).isEqualTo(XlConfig.ShutdownAction.RESTART);
        assertThat(c.action(XlConfig.ShutdownEvent.POWEROFF)).isEqualTo(XlConfig.ShutdownAction.DESTROY);
        assertThat(c.line("vif")).isEqualTo(13);
        assertThat(c.warnings()).isEmpty();
    }

    @Test
    void shouldPreferCmdlineOverRootAndExtraWithAWarning()
    {
        final XlConfig c = parse("name='a'\ncmdline='quiet'\nextra='console=hvc0'\n");
        assertThat(c.cmdline()).isEqualTo("quiet");
        assertThat(c.warnings()).containsExactly("g.cfg:2: ignoring root= and extra= in favour of cmdline= " +
            "(as xl does)");
    }

    @Test
    void shouldWarnAboutKeysItDoesNotUseAndKeysSetTwice()
    {
        final XlConfig c = parse("name='a'\nmemory=64\nvnc=1\nmemory=128\n");
        assertThat(c.memoryMib()).isEqualTo(128L);
        assertThat(c.warnings()).containsExactly(
            "g.cfg:4: memory is set again (line 2 set it first); the last value counts",
            "g.cfg:3: vnc is not a setting dom0j create uses; ignored");
    }

    @Test
    void shouldAppendWithPlusEquals()
    {
        final XlConfig c = parse("name='a'\ndisk=['/a,,xvda']\ndisk += ['/b,,xvdb']\nextra='x'\nextra+=' y'\n");
        assertThat(c.disks()).extracting(DiskSpec::vdev).containsExactly("xvda", "xvdb");
        assertThat(c.cmdline()).isEqualTo("x y");
    }

    @Test
    void shouldUnescapeStringsAsLibxlutilDoes()
    {
        final XlConfig c = parse("name = 'a'\ncmdline = \"a\\x41\\101\\t\\\"q\\\"\\\\\\'\"\n");
        assertThat(c.cmdline()).isEqualTo("aAA\t\"q\"\\'");
    }

    @Test
    void shouldAcceptALastLineWithoutNewline()
    {
        assertThat(parse("name='a'\nvcpus=3").vcpus()).isEqualTo(3);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        "`name='a'\nmemory = lots\n`|g.cfg:2:10: expected a value for memory (a string in quotes, a number or a " +
            "[list]), got 'l'",
        "`name='a'\nmemory = 12x\n`|g.cfg:2:10: memory: expected a number, got '12x'",
        "`name='a'\nmemory = '-5'\n`|g.cfg:2:10: memory: -5 is out of range (1 to 16777216)",
        "`name='a'\nmemory = 512\nmaxmem = 256\n`|g.cfg:2:1: memory (512 MiB) is more than maxmem (256 MiB, line 3)",
        "`name='a'\nvcpus = 0\n`|g.cfg:2:9: vcpus: 0 is out of range (1 to 4096)",
        "`name='a'\nvcpus = 4\nmaxvcpus = 2\n`|g.cfg:3:1: maxvcpus (2) is less than vcpus (4)",
        "`memory = 64\n`|g.cfg: name is missing: a domain needs a name (name = \"guest1\")",
        "`name = ''\n`|g.cfg:1:8: name is empty",
        "`name = 'a/b'\n`|g.cfg:1:8: name 'a/b' has a '/' (names become xenstore values and log file names)",
        "`name = '12'\n`|g.cfg:1:8: name '12' is a number, which xl's commands would take for a domid",
        "`name = ['a']\n`|g.cfg:1:8: name must be a single value, not a list",
        "`name='a'\ntype = 'xen'\n`|g.cfg:2:8: type 'xen' is not a domain type (pv, pvh or hvm)",
        "`name='a'\ntype='pv'\nbuilder='hvm'\n`|g.cfg:3:9: builder = \"hvm\" contradicts type = \"pv\"",
        "`name='a'\non_crash = 'explode'\n`|g.cfg:2:12: on_crash: unknown action 'explode' (destroy, restart, " +
            "rename-restart, preserve, coredump-destroy, coredump-restart, soft-reset)",
        "`name='a'\nuuid = 'abc'\n`|g.cfg:2:8: uuid: 'abc' is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
        "`name='a'\ndisk = '/a,raw,xvda'\n`|g.cfg:2:8: disk must be a list, e.g. disk = [ '...' ]",
        "`name='a'\ndisk = [ ['/a'] ]\n`|g.cfg:2:10: disk: each item must be a string, not a list",
        "`name='a'\ndisk = [ '/a,raw,xvda', \n  '/b,raw,51712' ]\n`|g.cfg:3:3: disk 2: vdev 51712 is the same device " +
            "(51712) as disk 1's vdev xvda",
        "`name='a'\ndisk = [ '/a,raw,xvda,rx' ]\n`|g.cfg:2:10: disk 1: disk spec '/a,raw,xvda,rx': unknown value " +
            "for access (r, ro, w or rw), near 'rx'",
        "`name='a'\ndisk = [ '/a,raw' ]\n`|g.cfg:2:10: disk 1: disk spec '/a,raw': no vdev specified",
        "`name='a'\ndisk = [ 'vdev=xvda' ]\n`|g.cfg:2:10: disk 1: disk spec 'vdev=xvda': no target specified " +
            "(and device not removable)",
        "`name='a'\ndisk = [ 'target=/a,vdev=xvda' ]\n`|g.cfg:2:10: disk 1: disk spec 'target=/a,vdev=xvda': " +
            "no vdev specified",
        "`name='a'\ndisk = [ '/a,raw,xvda,rw,extra' ]\n`|g.cfg:2:10: disk 1: disk spec '/a,raw,xvda,rw,extra': too " +
            "many positional parameters (target, format, vdev, access), near 'extra'",
        "`name='a'\ndisk = [ '/a,raw,vda' ]\n`|g.cfg:2:10: disk 1: disk spec '/a,raw,vda': vdev is not a disk name " +
            "libxl knows (xvda..., hda-hdd, sda-sdp, d<N>p<N> or a device number), near 'vda'",
        "`name='a'\ndisk = [ '/a,xvda,raw' ]\n`|g.cfg:2:10: disk 1: disk spec '/a,xvda,raw': unknown value for " +
            "format (raw, qcow, qcow2, vhd, qed or empty), near 'xvda'",
        "`name='a'\ndisk = [ 'vdev=xvda,mode=rw,target=/a' ]\n`|g.cfg:2:10: disk 1: disk spec " +
            "'vdev=xvda,mode=rw,target=/a': unknown parameter (xl's disk spec calls it access=), near 'mode=rw'",
        "`name='a'\ndisk = [ 'foo:/a,xvda' ]\n`|g.cfg:2:10: disk 1: disk spec 'foo:/a,xvda': unknown deprecated " +
            "disk prefix foo:, near 'foo:/a'",
        "`name='a'\nvif = [ 'mac=00:16:3e:zz:00:01' ]\n`|g.cfg:2:9: vif 1: vif spec 'mac=00:16:3e:zz:00:01': mac " +
            "'00:16:3e:zz:00:01' is not a MAC address (six hex bytes, e.g. 00:16:3e:12:34:56)",
        "`name='a'\nvif = [ 'mac=01:16:3e:00:00:01' ]\n`|g.cfg:2:9: vif 1: vif spec 'mac=01:16:3e:00:00:01': mac " +
            "'01:16:3e:00:00:01' is a multicast address (the low bit of the first byte is set); a NIC needs a " +
            "unicast one, e.g. 00:16:3e:...",
        "`name='a'\nvif = [ 'mac=00:16:3e:00:00:01', 'mac=00:16:3E:00:00:01' ]\n`|g.cfg:2:34: vif 2: mac " +
            "00:16:3e:00:00:01 is also vif 1's",
        "`name='a'\nvif = [ 'devid=1', 'bridge=b' ]\n`|g.cfg:2:20: vif 2: devid 1 is also vif 1's",
        "`name='a'\nvif = [ 'type=tap' ]\n`|g.cfg:2:9: vif 1: vif spec 'type=tap': type must be vif or ioemu, not " +
            "'tap'",
        "`name='a'\nvif = [ 'rate=fast' ]\n`|g.cfg:2:9: vif 1: vif spec 'rate=fast': invalid rate 'fast' (e.g. " +
            "10Mb/s or 1MB/s@20ms)",
        "`name = 'a\n`|g.cfg:1:8: this string has no closing ' on its line",
        "`name = 'a\\q'\n`|g.cfg:1:10: unknown escape \\q in a string (known: \\n \\t \\r \\a \\b \\f \\v \\\\ \\' " +
            "\\\" \\xHH and octal)",
        "`name 'a'\n`|g.cfg:1:6: expected '=' after name, got '''",
        "`Name = 'a'\n`|g.cfg:1:1: expected a setting (a lower-case key, then '='), got 'N'",
        "`name = 'a' 'b'\n`|g.cfg:1:12: expected the end of the line (or ';') after the value of name, got '''",
        "`name='a'\ndisk = [ '/a,,xvda'\n`|g.cfg:2:8: the list of disk that starts here has no closing ']'",
        "`name='a'\ndisk = [ '/a,,xvda' '/b,,xvdb' ]\n`|g.cfg:2:21: expected ',' or ']' in the list of disk, got '''",
        "`name='a'\ndisk = [ , ]\n`|g.cfg:2:10: expected an item of the list of disk before ',', got ','",
        "`name='a'\nmemory = (1024)\n`|g.cfg:2:10: expected a value for memory (a string, a number or a [list]; " +
            "xl config files are not Python), got '('",
        "`name='a'\ndisk = ['/a,,xvda']\ndisk += '/b,,xvdb'\n`|g.cfg:3:9: disk += : cannot append a single value " +
            "to a list (line 2)",
        "`name=\n`|g.cfg:1:6: expected a value for name (a string in quotes, a number or a [list]), got the end " +
            "of the line",
    })
    void shouldSayWhichLineIsWrongAndWhy(final String text, final String message)
    {
        assertError(text, message);
    }

    @Test
    void shouldCheckThatTheFilesItNamesExist(@TempDir final Path dir) throws Exception
    {
        final Path kernel = Files.writeString(dir.resolve("vmlinuz"), "k");
        final Path disk = Files.writeString(dir.resolve("disk.img"), "d");
        final XlConfig c = parse("name='a'\nkernel='" + kernel + "'\nramdisk='" + dir.resolve("missing") +
            "'\ndisk=['" + disk + ",raw,xvda', '" + dir.resolve("gone.img") + ",raw,xvdb', ',,hdc:cdrom,r', " +
            "'nbd:host:1234,,xvdc']\n");
        final List<String> problems = new ArrayList<>();
        c.checkFiles(p -> problems.add(p.getMessage()));
        assertThat(problems).containsExactly(
            "g.cfg:3: ramdisk " + dir.resolve("missing") + " does not exist",
            "g.cfg:4: disk xvdb: target " + dir.resolve("gone.img") + " does not exist");
    }
}
