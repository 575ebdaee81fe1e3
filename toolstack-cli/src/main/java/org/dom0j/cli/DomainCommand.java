package org.dom0j.cli;

import org.dom0j.domctl.DomainControl;
import org.dom0j.platform.XenPlatform;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.util.function.BiConsumer;

/**
 * {@code dom0j domain pause|unpause|destroy DOMID}: change a domain's run state through the platform's domain
 * control (libxenctrl on Xen, the sim host's flags on the simulator).
 * <p>
 * Runs on the CLI's thread.
 */
@Command(
    name = "domain",
    description = "Pause, unpause or destroy a domain.",
    footer = { "", "Examples:", "  dom0j domain pause 3", "  dom0j --platform sim domain destroy 5" })
final class DomainCommand
{
    @ParentCommand
    private Dom0j root;

    @Spec
    private CommandSpec spec;

    @Command(name = "pause", description = "Pause a domain (xc_domain_pause).",
        footer = { "", "Example:", "  dom0j domain pause 3        stop domain 3's vCPUs; 'domain unpause 3' resumes" })
    int pause(@Parameters(paramLabel = "DOMID", description = "the domain") final int domid)
    {
        return apply(domid, "paused", DomainControl::pause);
    }

    @Command(name = "unpause", description = "Unpause a domain (xc_domain_unpause).",
        footer = { "", "Example:", "  dom0j domain unpause 3" })
    int unpause(@Parameters(paramLabel = "DOMID", description = "the domain") final int domid)
    {
        return apply(domid, "unpaused", DomainControl::unpause);
    }

    @Command(name = "destroy", description = "Destroy a domain (xc_domain_destroy).",
        footer = { "", "Example:", "  dom0j --platform sim domain destroy 5" })
    int destroy(@Parameters(paramLabel = "DOMID", description = "the domain") final int domid)
    {
        return apply(domid, "destroyed", DomainControl::destroy);
    }

    private int apply(final int domid, final String done, final BiConsumer<DomainControl, Integer> op)
    {
        try (XenPlatform platform = root.platforms().open(root.options().platform(), root.environment());
            DomainControl domctl = platform.openDomainControl())
        {
            op.accept(domctl, domid);
            spec.commandLine().getOut().println("domain " + domid + " " + done);
            spec.commandLine().getOut().flush();
            return ExitCodes.OK;
        }
    }
}
