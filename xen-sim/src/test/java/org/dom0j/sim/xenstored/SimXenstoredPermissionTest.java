package org.dom0j.sim.xenstored;

import org.dom0j.common.Errno;
import org.dom0j.xenstore.XenStoreClient;
import org.dom0j.xenstore.XenStoreException;
import org.dom0j.xenstore.XsPaths;
import org.dom0j.xenstore.XsPermission;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * C xenstored's permission rules, table-driven (after ocaml-xenstore's server tests): for each node permission
 * list, which domain may do what, and which errno the others get. Guests connect through their domain sockets.
 */
@Timeout(60)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SimXenstoredPermissionTest
{
    private SimXenstored server;
    private XenStoreClient dom0;
    private XenStoreClient guest1;
    private XenStoreClient guest2;
    private XenStoreClient guest3;

    @BeforeAll
    void start(@TempDir final Path dir) throws Exception
    {
        server = SimXenstored.start(dir.resolve("socket"), SimXenstoredConfig.defaults());
        dom0 = XenStoreClient.connect(server.socketPath());
        for (int d = 1; d <= 3; d++)
        {
            dom0.introduceDomain(d, d, d);
            dom0.mkdir("/local/domain/" + d);
            dom0.setPermissions("/local/domain/" + d, List.of(XsPermission.parse("n" + d)));
        }
        guest1 = XenStoreClient.connect(server.domainSocketPath(1));
        guest2 = XenStoreClient.connect(server.domainSocketPath(2));
        guest3 = XenStoreClient.connect(server.domainSocketPath(3));
        dom0.introduceDomain(3, 3, 3);
        dom0.setTarget(3, 2);
    }

    @AfterAll
    void stop()
    {
        guest1.close();
        guest2.close();
        guest3.close();
        dom0.close();
        server.close();
    }

    private XenStoreClient as(final int domid)
    {
        return switch (domid)
        {
            case 0 -> dom0;
            case 1 -> guest1;
            case 2 -> guest2;
            default -> guest3;
        };
    }

    private static String outcome(final Runnable r)
    {
        try
        {
            r.run();
            return "OK";
        }
        catch (final XenStoreException ex)
        {
            return Errno.of(ex.errno()).name();
        }
    }

    private String setUp(final String perms)
    {
        final String path = "/data/" + perms.replace(' ', '_');
        dom0.write(path, "secret");
        final List<XsPermission> list = new ArrayList<>();
        for (final String p : perms.split(" "))
        {
            list.add(XsPermission.parse(p));
        }
        dom0.setPermissions(path, list);
        return path;
    }

    @ParameterizedTest(name = "perms [{0}] domain {1}: read {2}, write {3}")
    @CsvSource({
        // perms,  domain, read,   write
        "n0,       0,      OK,     OK",
        "n0,       1,      EACCES, EACCES",
        "r0,       1,      OK,     EACCES",
        "w0,       1,      EACCES, OK",
        "b0,       1,      OK,     OK",
        "n0 r1,    1,      OK,     EACCES",
        "n0 r1,    2,      EACCES, EACCES",
        "n0 w1,    1,      EACCES, OK",
        "n0 b1,    1,      OK,     OK",
        "r0 n1,    1,      EACCES, EACCES",
        "r0 n1,    2,      OK,     EACCES",
        "n1,       1,      OK,     OK",
        "n1,       2,      EACCES, EACCES",
        "n1,       0,      OK,     OK",
        "n2,       3,      OK,     OK",
        "n0 r2,    3,      OK,     EACCES",
    })
    void shouldApplyPermissionTable(final String perms, final int domid, final String read, final String write)
    {
        final String path = setUp(perms);
        final XenStoreClient c = as(domid);
        assertThat(outcome(() -> c.read(path))).as("read").isEqualTo(read);
        assertThat(outcome(() -> c.write(path, "new"))).as("write").isEqualTo(write);
    }

    @ParameterizedTest(name = "missing node below [{0}] as domain {1}: {2}")
    @CsvSource({
        "n0, 1, EACCES",
        "r0, 1, ENOENT",
        "n0 r1, 1, ENOENT",
        "n0, 0, ENOENT",
    })
    void shouldHideMissingNodesBelowUnreadableParents(final String perms, final int domid, final String expected)
    {
        final String parent = setUp(perms);
        assertThat(outcome(() -> as(domid).read(parent + "/missing"))).isEqualTo(expected);
    }

    @Test
    void shouldLetGuestsCreateOnlyWhereTheyMayWriteAndOwnWhatTheyCreate()
    {
        guest1.write("device/vif/0/state", "1");
        assertThat(dom0.getPermissions("/local/domain/1/device/vif/0/state").get(0).domid()).isEqualTo(1);
        assertThat(outcome(() -> guest1.write("/local/domain/2/x", "1"))).isEqualTo("EACCES");
        assertThat(outcome(() -> guest1.write("/newtop", "1"))).isEqualTo("EACCES");
        final String shared = setUp("n0 w1");
        guest1.write(shared + "/created", "1");
        assertThat(dom0.getPermissions(shared + "/created"))
            .containsExactly(XsPermission.parse("n1"), XsPermission.parse("w1"));
    }

    @Test
    void shouldRefuseToGiveNodesAway()
    {
        guest1.write("mine", "1");
        assertThat(outcome(() -> guest1.setPermissions("mine", List.of(XsPermission.parse("n2")))))
            .isEqualTo("EPERM");
        assertThat(outcome(() -> guest1.setPermissions("mine", List.of(XsPermission.parse("n1"),
            XsPermission.parse("r2"))))).isEqualTo("OK");
        assertThat(guest2.read("/local/domain/1/mine")).isEqualTo("1");
        final String notMine = setUp("n0 b1");
        assertThat(outcome(() -> guest1.setPermissions(notMine, List.of(XsPermission.parse("n0")))))
            .isEqualTo("EACCES");
    }

    @Test
    void shouldRefusePrivilegedOperationsToGuests()
    {
        assertThat(outcome(() -> guest1.introduceDomain(9, 1, 1))).isEqualTo("EACCES");
        assertThat(outcome(() -> guest1.releaseDomain(2))).isEqualTo("EACCES");
        assertThat(outcome(() -> guest1.isDomainIntroduced(2))).isEqualTo("EACCES");
        assertThat(outcome(() -> guest1.setTarget(1, 2))).isEqualTo("EACCES");
        assertThat(outcome(() -> guest1.control("check"))).isEqualTo("EACCES");
        assertThat(outcome(() -> guest1.setQuota(-1, "nodes", 5000))).isEqualTo("EACCES");
        assertThat(outcome(() -> guest1.getDomainPath(1))).isEqualTo("OK");
    }

    @Test
    void shouldFilterWatchEventsByReadPermission() throws Exception
    {
        final BlockingQueue<String> events = new ArrayBlockingQueue<>(100);
        dom0.mkdir("/wf");
        dom0.setPermissions("/wf", List.of(XsPermission.parse("r0")));
        guest1.watch("/wf", "t", (p, t) -> events.add(p));
        guest1.watch(XsPaths.INTRODUCE_DOMAIN, "t", (p, t) -> events.add(p));
        assertThat(events.poll(5, TimeUnit.SECONDS)).isEqualTo("/wf");
        assertThat(events.poll(5, TimeUnit.SECONDS)).isEqualTo(XsPaths.INTRODUCE_DOMAIN);
        dom0.write("/wf/secret", "s");
        dom0.setPermissions("/wf/secret", List.of(XsPermission.parse("n0")));
        dom0.write("/wf/secret", "s2");
        dom0.introduceDomain(12, 1, 1);
        dom0.write("/wf/public", "p");
        assertThat(events.poll(5, TimeUnit.SECONDS)).isEqualTo("/wf/secret");
        assertThat(events.poll(5, TimeUnit.SECONDS)).isEqualTo("/wf/secret");
        assertThat(events.poll(5, TimeUnit.SECONDS)).isEqualTo("/wf/public");
        guest1.read("/wf/public");
        assertThat(events.poll(200, TimeUnit.MILLISECONDS)).isNull();
    }

    @Test
    void shouldReportRelativeWatchPathsRelatively() throws Exception
    {
        final BlockingQueue<String> events = new ArrayBlockingQueue<>(100);
        guest2.watch("control", "t", (p, t) -> events.add(p));
        assertThat(events.poll(5, TimeUnit.SECONDS)).isEqualTo("control");
        dom0.write("/local/domain/2/control/shutdown", "poweroff");
        assertThat(events.poll(5, TimeUnit.SECONDS)).isEqualTo("control/shutdown");
    }
}
