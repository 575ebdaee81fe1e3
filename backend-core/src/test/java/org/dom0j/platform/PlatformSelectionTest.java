package org.dom0j.platform;

import org.dom0j.common.XenLibrary;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(10)
class PlatformSelectionTest
{
    private static final Function<XenLibrary, String> ALL_LIBRARIES = library -> null;

    @TempDir
    Path root;

    private final Platforms platforms = new Platforms(List.of(new XenHostPlatformProvider(), new AlwaysThere()));

    @Test
    void shouldPickTheOtherPlatformWhenThereIsNoXenDevice()
    {
        final Platforms.Selection selection = platforms.select("auto", environment(ALL_LIBRARIES));

        assertThat(selection.chosen().provider().name()).isEqualTo("test");
        assertThat(selection.explanation())
            .isEqualTo("auto picks 'test' because 'xen' is not available: /dev/xen/privcmd is missing: " +
                "this machine is not running on Xen (or the xen-privcmd module is not loaded)");
    }

    @Test
    void shouldPickXenInADom0WithEverythingPresent() throws IOException
    {
        fakeDom0("control_d\n");
        Files.createDirectories(root.resolve("var/run/xenstored"));
        Files.createFile(root.resolve("var/run/xenstored/socket"));

        final Platforms.Selection selection = platforms.select("auto", environment(ALL_LIBRARIES));

        assertThat(selection.chosen().provider().name()).isEqualTo("xen");
        assertThat(selection.chosen().availability().summary()).endsWith("xenstore at /var/run/xenstored/socket");
        assertThat(selection.candidates()).extracting(c -> c.provider().name()).containsExactly("xen", "test");
        assertThat(selection.explanation()).isEqualTo("auto picks 'xen'");
    }

    @Test
    void shouldRefuseADomUThatIsNotTheControlDomain() throws IOException
    {
        fakeDom0("\n");

        final Availability availability = new XenHostPlatformProvider().probe(environment(ALL_LIBRARIES));

        assertThat(availability.available()).isFalse();
        assertThat(availability.reasons())
            .containsExactly("this domain is not dom0 (/proc/xen/capabilities does not say control_d)");
    }

    @Test
    void shouldNameEveryMissingDeviceAndLibrary() throws IOException
    {
        Files.createDirectories(root.resolve("dev/xen"));
        Files.createFile(root.resolve("dev/xen/privcmd"));
        final Function<XenLibrary, String> noCtrl = library -> library == XenLibrary.CTRL ?
            "libxenctrl.so.4.17 cannot be loaded (install Debian package libxenmisc4.17)" : null;

        final Availability availability = new XenHostPlatformProvider().probe(environment(noCtrl));

        assertThat(availability.reasons()).containsExactly(
            "/dev/xen/gntdev is missing: load the kernel module xen-gntdev",
            "/dev/xen/evtchn is missing: load the kernel module xen-evtchn",
            "/proc/xen/capabilities is missing: mount xenfs on /proc/xen (mount -t xenfs xenfs /proc/xen)",
            "no xenstored to talk to: neither $XENSTORED_PATH, /var/run/xenstored/socket nor /dev/xen/xenbus " +
                "exists (start xenstored)",
            "libxenctrl.so.4.17 cannot be loaded (install Debian package libxenmisc4.17)");
    }

    @Test
    void shouldHonourXenstoredPathBeforeTheDefaultSocket() throws IOException
    {
        fakeDom0("control_d\n");
        Files.createFile(root.resolve("xs.sock"));
        final PlatformEnvironment environment =
            new PlatformEnvironment(root, Map.of("XENSTORED_PATH", "/xs.sock"), ALL_LIBRARIES);

        assertThat(XenHostPlatformProvider.xenStorePath(environment)).isEqualTo("/xs.sock");
    }

    @Test
    void shouldFailWithOneSentenceWhenXenIsAskedForAndAbsent()
    {
        assertThatThrownBy(() -> platforms.open("xen", environment(ALL_LIBRARIES)))
            .isInstanceOf(PlatformUnavailableException.class)
            .hasMessage("platform 'xen' is not available: /dev/xen/privcmd is missing: " +
                "this machine is not running on Xen (or the xen-privcmd module is not loaded)");
    }

    @Test
    void shouldNameTheKnownPlatformsWhenAnUnknownOneIsAskedFor()
    {
        final Platforms.Selection selection = platforms.select("kvm", environment(ALL_LIBRARIES));

        assertThat(selection.chosen()).isNull();
        assertThat(selection.explanation()).isEqualTo("there is no platform named 'kvm' (known: xen, test)");
    }

    @Test
    void shouldOrderCandidatesByPriority()
    {
        final Platforms reversed = new Platforms(List.of(new AlwaysThere(), new XenHostPlatformProvider()));

        assertThat(reversed.providers()).extracting(XenPlatformProvider::name).containsExactly("xen", "test");
    }

    @Test
    void shouldFindTheXenProviderWithServiceLoader()
    {
        assertThat(Platforms.installed().providers()).extracting(XenPlatformProvider::name).contains("xen");
    }

    private void fakeDom0(final String capabilities) throws IOException
    {
        Files.createDirectories(root.resolve("dev/xen"));
        for (final String device : new String[]{ "privcmd", "gntdev", "evtchn", "xenbus" })
        {
            Files.createFile(root.resolve("dev/xen").resolve(device));
        }
        Files.createDirectories(root.resolve("proc/xen"));
        Files.writeString(root.resolve("proc/xen/capabilities"), capabilities);
    }

    private PlatformEnvironment environment(final Function<XenLibrary, String> libraries)
    {
        return new PlatformEnvironment(root, Map.of(), libraries);
    }

    private static final class AlwaysThere implements XenPlatformProvider
    {
        @Override
        public String name()
        {
            return "test";
        }

        @Override
        public int priority()
        {
            return 1;
        }

        @Override
        public Availability probe(final PlatformEnvironment environment)
        {
            return Availability.available("always");
        }

        @Override
        public XenPlatform open(final PlatformEnvironment environment)
        {
            throw new UnsupportedOperationException("not opened by these tests");
        }
    }
}
