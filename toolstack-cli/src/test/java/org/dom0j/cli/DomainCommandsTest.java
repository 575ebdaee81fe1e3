package org.dom0j.cli;

import org.dom0j.platform.PlatformEnvironment;
import org.dom0j.sim.SimDomain;
import org.dom0j.sim.SimMachine;
import org.dom0j.sim.guest.ShutdownWatcher;
import org.dom0j.toolstack.XenbusDevices;
import org.dom0j.xenstore.XenStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The domain commands ({@code list [-l]}, {@code pause}, {@code unpause}, {@code destroy}, {@code rename},
 * {@code shutdown}, {@code reboot}) on a simulated machine running in this JVM, with guests played by threads that
 * answer {@code control/shutdown} through {@link ShutdownWatcher} as Linux does (or do not, for a guest without PV
 * drivers).
 */
@Timeout(60)
class DomainCommandsTest
{
    private static final long WAIT_NANOS = TimeUnit.SECONDS.toNanos(20);

    @TempDir
    Path dir;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();
    private SimMachine machine;

    @BeforeEach
    void startMachine()
    {
        machine = SimMachine.start(dir.resolve("sim"));
    }

    @AfterEach
    void stopMachine()
    {
        machine.close();
    }

    private int run(final String... args)
    {
        out.getBuffer().setLength(0);
        err.getBuffer().setLength(0);
        return Cli.run(new PlatformEnvironment(dir.resolve("root"), Map.of("DOM0J_SIM_DIR",
            dir.resolve("sim").toString()), lib -> null), out, err, args);
    }

    @Test
    void shouldSayThatNoMachineIsRunningInsteadOfListingANamelessDomainZero()
    {
        final Path empty = dir.resolve("nothing-here");
        final StringWriter o = new StringWriter();
        final StringWriter e = new StringWriter();
        final int exit = Cli.run(new PlatformEnvironment(dir.resolve("root"), Map.of("DOM0J_SIM_DIR",
            empty.toString()), lib -> null), o, e, "list");

        assertThat(exit).isEqualTo(ExitCodes.PLATFORM_UNAVAILABLE);
        assertThat(o.toString()).isEmpty();
        assertThat(e.toString()).contains("no Xen here ('dom0j platform' says why) and no simulated machine is " +
            "running in " + empty).contains("start one with 'dom0j sim start'");
        assertThat(empty).as("nothing made by asking").doesNotExist();
    }

    @Test
    void shouldSayThatTheMachineStoppedWhenOnlyItsSocketIsLeft() throws Exception
    {
        final Path stale = dir.resolve("stale");
        // What a machine killed with SIGKILL leaves: the socket's name, with nobody listening.
        Files.createDirectories(stale);
        Files.createFile(stale.resolve("xenstored.sock"));
        final StringWriter o = new StringWriter();
        final StringWriter e = new StringWriter();
        final int exit = Cli.run(new PlatformEnvironment(dir.resolve("root"), Map.of("DOM0J_SIM_DIR",
            stale.toString()), lib -> null), o, e, "--platform", "sim", "list");

        assertThat(exit).isEqualTo(ExitCodes.PLATFORM_UNAVAILABLE);
        assertThat(e.toString()).contains("no simulated machine is running in " + stale)
            .contains("xenstored.sock is left from a machine that stopped").contains("'dom0j sim start'");
    }

    @Test
    void shouldListNamesAndTheConfigurationAsXlListLongDoes()
    {
        machine.createGuest(3, "guest3", 256);
        XenbusDevices.attach(machine.xenStore(), 0, "vbd", 3, "51712",
            Map.of("params", "/srv/disk.img", "mode", "w", "type", "phy", "dev", "xvda", "device-type", "disk"),
            Map.of("virtual-device", "51712"));
        XenbusDevices.attach(machine.xenStore(), 0, "vif", 3, "0", Map.of("mac", "00:16:3e:00:00:03",
            "bridge", "xenbr0"), Map.of());
        machine.xenStore().write("/local/domain/3/memory/target", "524288");

        assertThat(run("--platform", "sim", "list")).as(err.toString()).isZero();
        assertThat(out.toString()).containsPattern("(?m)^Domain-0 +0 ").containsPattern("(?m)^guest3 +3 +1 +1 ");

        assertThat(run("--platform", "sim", "list", "-l", "guest3")).as(err.toString()).isZero();
        assertThat(out.toString().strip()).isEqualTo("[{\"domid\":3,\"config\":{\"c_info\":{\"name\":\"guest3\"}," +
            "\"b_info\":{\"max_vcpus\":1,\"max_memkb\":1024,\"target_memkb\":524288}," +
            "\"disks\":[{\"backend_domid\":0,\"pdev_path\":\"/srv/disk.img\",\"vdev\":\"xvda\",\"backend\":\"phy\"," +
            "\"readwrite\":1,\"is_cdrom\":0,\"devid\":51712}]," +
            "\"nics\":[{\"backend_domid\":0,\"devid\":0,\"mac\":\"00:16:3e:00:00:03\",\"bridge\":\"xenbr0\"}]}}]");
    }

    @Test
    void shouldTakeNamesOrDomidsAndListTheKnownNamesForAnUnknownOne()
    {
        machine.createGuest(4, "web", 16);
        assertThat(run("--platform", "sim", "pause", "web")).as(err.toString()).isZero();
        assertThat(out.toString()).contains("domain 4 (web) paused");
        assertThat(machine.host().domain(4).isPaused()).isTrue();
        assertThat(run("--platform", "sim", "unpause", "4", "--json")).isZero();
        assertThat(out.toString().strip()).isEqualTo("{\"domid\":4,\"name\":\"web\",\"result\":\"unpaused\"}");
        assertThat(machine.host().domain(4).isPaused()).isFalse();

        assertThat(run("--platform", "sim", "pause", "db")).isEqualTo(ExitCodes.XEN_ERROR);
        assertThat(err.toString()).contains("no domain 'db'; known: Domain-0 (0), web (4)");
    }

    @Test
    void shouldFindAConsoleByTheDomainsName()
    {
        machine.createGuest(15, "consoled", 16);

        assertThat(run("--platform", "sim", "console", "consoled", "--run-dir", dir.resolve("run").toString()))
            .isEqualTo(ExitCodes.FAILURE);
        assertThat(err.toString()).contains("no console of domain 15 is served");
        assertThat(run("--platform", "sim", "console", "nobody")).isEqualTo(ExitCodes.XEN_ERROR);
        assertThat(err.toString()).contains("no domain 'nobody'; known: Domain-0 (0), consoled (15)");
    }

    @Test
    void shouldDestroyADomainAndWhatTheToolstackWroteForIt()
    {
        machine.createGuest(5, "doomed", 16);
        XenbusDevices.attach(machine.xenStore(), 0, "vbd", 5, "51712", Map.of("params", "/x"), Map.of());

        assertThat(run("--platform", "sim", "destroy", "doomed")).as(err.toString()).isZero();

        assertThat(machine.host().exists(5)).isFalse();
        assertThat(machine.xenStore().exists("/local/domain/5")).isFalse();
        assertThat(machine.xenStore().exists("/local/domain/0/backend/vbd/5")).isFalse();
        assertThat(machine.xenStore().isDomainIntroduced(5)).isFalse();
    }

    @Test
    void shouldRenameAndRefuseNamesInUseEmptyNumericOrDomainZero()
    {
        machine.createGuest(6, "old", 16);
        machine.createGuest(7, "taken", 16);

        assertThat(run("--platform", "sim", "rename", "old", "new-name")).as(err.toString()).isZero();
        assertThat(machine.xenStore().read("/local/domain/6/name")).isEqualTo("new-name");

        assertThat(run("--platform", "sim", "rename", "6", "taken")).isEqualTo(ExitCodes.XEN_ERROR);
        assertThat(err.toString()).contains("domain 7 is already named 'taken'");
        assertThat(run("--platform", "sim", "rename", "6", "")).isEqualTo(ExitCodes.XEN_ERROR);
        assertThat(err.toString()).contains("a name cannot be empty");
        assertThat(run("--platform", "sim", "rename", "6", "42")).isEqualTo(ExitCodes.XEN_ERROR);
        assertThat(err.toString()).contains("cannot be all digits");
        assertThat(run("--platform", "sim", "rename", "6", "a/b")).isEqualTo(ExitCodes.XEN_ERROR);
        assertThat(run("--platform", "sim", "rename", "Domain-0", "boss")).isEqualTo(ExitCodes.XEN_ERROR);
        assertThat(err.toString()).contains("domain 0 keeps its name");
        assertThat(machine.xenStore().read("/local/domain/6/name")).isEqualTo("new-name");
        assertThat(machine.xenStore().read("/local/domain/0/name")).isEqualTo("Domain-0");
    }

    @Test
    void shouldShutDownAGuestThatAnswersAndWaitUntilItIsGone() throws Exception
    {
        final CompletableFuture<String> guest = CompletableFuture.supplyAsync(() -> playGuest(8, "guest8"));
        awaitFeature(8);

        assertThat(run("--platform", "sim", "shutdown", "-w", "guest8")).as(err.toString()).isZero();

        assertThat(out.toString()).contains("domain 8 (guest8) has shut down and is gone");
        assertThat(guest.get(20, TimeUnit.SECONDS)).isEqualTo("poweroff");
        assertThat(machine.host().exists(8)).isFalse();
    }

    @Test
    void shouldShutDownEveryGuestWithAllButNotDomainZero() throws Exception
    {
        final CompletableFuture<String> first = CompletableFuture.supplyAsync(() -> playGuest(13, "one"));
        final CompletableFuture<String> second = CompletableFuture.supplyAsync(() -> playGuest(14, "two"));
        awaitFeature(13);
        awaitFeature(14);

        assertThat(run("--platform", "sim", "shutdown", "--all", "-w")).as(err.toString()).isZero();

        assertThat(out.toString()).contains("domain 13 (one) has shut down and is gone")
            .contains("domain 14 (two) has shut down and is gone").doesNotContain("domain 0");
        assertThat(first.get(20, TimeUnit.SECONDS)).isEqualTo("poweroff");
        assertThat(second.get(20, TimeUnit.SECONDS)).isEqualTo("poweroff");
        assertThat(machine.xenStore().readOrNull("/local/domain/0/control/shutdown")).isNull();
        assertThat(run("--platform", "sim", "shutdown", "-a", "one")).isEqualTo(ExitCodes.USAGE);
    }

    @Test
    void shouldSayThatAGuestWithoutPvDriversDidNotAcknowledge()
    {
        machine.createGuest(9, "no-drivers", 16);

        assertThat(run("--platform", "sim", "shutdown", "no-drivers", "--ack-timeout", "0.3", "--json"))
            .isEqualTo(ExitCodes.FAILURE);

        assertThat(err.toString()).contains("domain 9 (no-drivers) has not acknowledged the request within 0.3 s: " +
            "it has no PV shutdown support");
        assertThat(out.toString()).contains("\"result\":\"not acknowledged\"");
        assertThat(machine.xenStore().read("/local/domain/9/control/shutdown")).isEqualTo("poweroff");
        assertThat(machine.host().exists(9)).isTrue();
    }

    @Test
    void shouldRebootAGuestWhoseToolstackBuildsItAgainUnderANewDomid() throws Exception
    {
        final CompletableFuture<String> guest = CompletableFuture.supplyAsync(() ->
        {
            final String word = playGuest(10, "phoenix");
            machine.createGuest(11, "phoenix", 16);
            return word;
        });
        awaitFeature(10);

        assertThat(run("--platform", "sim", "reboot", "-w", "phoenix", "--json")).as(err.toString()).isZero();

        assertThat(guest.get(20, TimeUnit.SECONDS)).isEqualTo("reboot");
        // The reason is there when the wait saw the domain shut down before it was destroyed (a race it may lose).
        assertThat(out.toString().strip()).matches("\\[\\{\"domid\":10,\"name\":\"phoenix\",\"request\":\"reboot\"," +
            "\"result\":\"rebooted\",\"reason\":(null|\"reboot\"),\"newDomid\":11}]");
    }

    @Test
    void shouldSayThatARebootedDomainNobodyRestartsStaysShutDown() throws Exception
    {
        final SimDomain domain = machine.createGuest(12, "stays", 16);
        final CompletableFuture<Void> guest = CompletableFuture.runAsync(() ->
        {
            try (XenStore xs = machine.connectAsGuest(12); ShutdownWatcher watcher = ShutdownWatcher.start(xs))
            {
                assertThat(watcher.awaitRequest(WAIT_NANOS)).isTrue();
                domain.shutdown(watcher.reason());
                // What Xen's xenstored does on VIRQ_DOM_EXC; no xl daemon is there to destroy or restart it.
                machine.xenstored().domainShutDown(12);
            }
            catch (final InterruptedException ex)
            {
                throw new IllegalStateException(ex);
            }
        });
        awaitFeature(12);

        assertThat(run("--platform", "sim", "reboot", "-w", "stays")).isEqualTo(ExitCodes.FAILURE);

        guest.get(20, TimeUnit.SECONDS);
        assertThat(out.toString()).contains("domain 12 (stays) has shut down (reboot) and nobody builds it again");
        assertThat(machine.host().domain(12).info().shutdownReason()).isEqualTo(ShutdownWatcher.SHUTDOWN_REBOOT);
    }

    /**
     * A guest with PV drivers and the process that owns it: waits for a request, acknowledges it, shuts down with
     * its reason, and is destroyed by its owner.
     */
    private String playGuest(final int domid, final String name)
    {
        final SimDomain domain = machine.createGuest(domid, name, 16);
        final String word;
        try (XenStore xs = machine.connectAsGuest(domid); ShutdownWatcher watcher = ShutdownWatcher.start(xs))
        {
            assertThat(watcher.awaitRequest(WAIT_NANOS)).isTrue();
            domain.shutdown(watcher.reason());
            word = watcher.request();
        }
        catch (final InterruptedException ex)
        {
            throw new IllegalStateException(ex);
        }
        machine.destroyGuest(domid);
        return word;
    }

    private void awaitFeature(final int domid) throws InterruptedException
    {
        final long deadline = System.nanoTime() + WAIT_NANOS;
        final String key = "/local/domain/" + domid + "/control/feature-poweroff";
        final CompletableFuture<Void> seen = new CompletableFuture<>();
        try (var watch = machine.xenStore().watch(key, "feature", (path, token) ->
        {
            if ("1".equals(machine.xenStore().readOrNull(key)))
            {
                seen.complete(null);
            }
        }))
        {
            seen.get(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
        }
        catch (final java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException ex)
        {
            throw new AssertionError("guest " + domid + " never advertised feature-poweroff", ex);
        }
    }
}
