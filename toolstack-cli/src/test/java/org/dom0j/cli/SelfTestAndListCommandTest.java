package org.dom0j.cli;

import org.dom0j.domctl.DomainControl;
import org.dom0j.platform.PlatformEnvironment;
import org.dom0j.sim.SimHost;
import org.dom0j.sim.SimMachine;
import org.dom0j.sim.SimPlatform;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(60)
class SelfTestAndListCommandTest
{
    @TempDir
    Path simDir;

    @TempDir
    Path fakeRoot;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(final String... args)
    {
        return Cli.run(new PlatformEnvironment(fakeRoot, Map.of("DOM0J_SIM_DIR", simDir.toString()), lib -> null),
            out, err, args);
    }

    @Test
    void shouldPassTheSelfTestOnTheSimulatorAndLeaveNothingBehind()
    {
        assertThat(run("--platform", "sim", "selftest")).as(out + "\n" + err).isZero();
        assertThat(out.toString())
            .contains("shared 1 page with domain 0 (gntshr): grant ref 8")
            .contains("grant copy to and from ref 8: status 0, 0")
            .contains("pending right after the bind: port 2")
            .contains("notify on port 2 fired port 1 (expected 1)")
            .contains("notify on port 1 fired port 2 (expected 2)")
            .contains("selftest passed: 19 checks on sim, domain 0");
        try (SimHost host = SimHost.open(simDir))
        {
            assertThat(host.domain(0).grantedRefCount()).isZero();
        }
    }

    @Test
    void shouldSayWhyTheSelfTestCannotRunOnXenHere()
    {
        assertThat(run("--platform", "xen", "selftest")).isEqualTo(ExitCodes.PLATFORM_UNAVAILABLE);
        assertThat(err.toString()).contains("platform 'xen' is not available").contains("/dev/xen/privcmd");
    }

    @Test
    void shouldListTheSimulatedDomainsWithTheirState()
    {
        try (SimMachine machine = SimMachine.start(simDir);
            SimPlatform platform = SimPlatform.open(simDir); DomainControl domctl = platform.openDomainControl())
        {
            platform.host().createDomain(5, 256);
            platform.host().createDomain(7, 512).shutdown(3);
            domctl.pause(5);
            assertThat(run("--platform", "sim", "list")).as(err.toString()).isZero();
        }
        final String[] lines = out.toString().split("\n");
        assertThat(lines).hasSize(4);
        assertThat(lines[0]).matches("Name +ID +Mem +VCPUs +State +Time\\(s\\)");
        assertThat(lines[1]).matches("Domain-0 +0 +16 +1 +-b---- +0\\.0");
        assertThat(lines[2]).matches(" +5 +1 +1 +--p--- +0\\.0");
        assertThat(lines[3]).matches(" +7 +2 +1 +----c- +0\\.0");
    }

    @Test
    void shouldPauseUnpauseAndDestroyASimulatedDomain()
    {
        try (SimMachine machine = SimMachine.start(simDir))
        {
            final SimHost host = machine.host();
            host.createDomain(6, 16);
            assertThat(run("--platform", "sim", "domain", "pause", "6")).as(err.toString()).isZero();
            assertThat(host.domain(6).isPaused()).isTrue();
            assertThat(run("--platform", "sim", "domain", "unpause", "6")).isZero();
            assertThat(host.domain(6).isPaused()).isFalse();
            assertThat(run("--platform", "sim", "domain", "destroy", "6")).isZero();
            assertThat(host.exists(6)).isFalse();
            assertThat(out.toString()).contains("domain 6 paused", "domain 6 unpaused", "domain 6 destroyed");
            assertThat(run("--platform", "sim", "domain", "destroy", "6")).isEqualTo(ExitCodes.XEN_ERROR);
            assertThat(err.toString()).contains("no domain '6'; known: Domain-0 (0)");
            assertThat(run("--platform", "sim", "domain", "destroy", "0")).isEqualTo(ExitCodes.XEN_ERROR);
            assertThat(err.toString()).contains("it is this domain: EINVAL");
        }
    }

    @Test
    void shouldListAsJson()
    {
        try (SimMachine machine = SimMachine.start(simDir))
        {
            assertThat(run("--platform", "sim", "list", "--json")).isZero();
        }
        assertThat(out.toString()).contains("\"name\":\"Domain-0\",\"domid\":0").contains("\"memoryKiB\":16384")
            .contains("\"state\":\"-b----\"");
    }
}
