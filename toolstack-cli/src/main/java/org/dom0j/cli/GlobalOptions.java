package org.dom0j.cli;

import org.dom0j.platform.Platforms;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * Options every subcommand takes, before or after its name ({@code dom0j --platform sim platform} and
 * {@code dom0j platform --platform sim} mean the same). Mixed into the root command; inherited by subcommands.
 */
public final class GlobalOptions
{
    @Option(
        names = "--platform",
        scope = ScopeType.INHERIT,
        paramLabel = "auto|xen|sim",
        defaultValue = "${env:DOM0J_PLATFORM:-auto}",
        description = "Which hypervisor to use: real Xen, the simulator, or auto (Xen when this is a dom0, " +
            "else the simulator). Default: ${DEFAULT-VALUE} (env DOM0J_PLATFORM).")
    String platform = Platforms.AUTO;

    @Option(names = "--json", scope = ScopeType.INHERIT, description = "Print JSON instead of text.")
    boolean json;

    @Option(names = { "-v", "--verbose" }, scope = ScopeType.INHERIT,
        description = "Say more; repeat for more still (-vv).")
    boolean[] verbosity = new boolean[0];

    /**
     * @return "auto", "xen" or "sim".
     */
    public String platform()
    {
        return platform;
    }

    /**
     * @return whether output should be JSON.
     */
    public boolean json()
    {
        return json;
    }

    /**
     * @return how many times -v was given.
     */
    public int verbosity()
    {
        return verbosity.length;
    }
}
