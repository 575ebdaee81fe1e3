package org.dom0j.cli;

import org.dom0j.common.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * {@code dom0j domain pause|unpause|destroy DOM}: the first spelling of these commands, kept for scripts; xl's
 * spelling ({@code dom0j pause DOM}, ...) is {@link PauseCommand}, {@link UnpauseCommand} and
 * {@link DestroyCommand}, which do the same through {@link #apply}.
 * <p>
 * Runs on the CLI's thread.
 */
@Command(
    name = "domain",
    description = "Pause, unpause or destroy a domain (also spelt as xl does: dom0j pause DOM).",
    footer = { "", "Examples:", "  dom0j domain pause 3", "  dom0j --platform sim domain destroy guest1" })
final class DomainCommand
{
    @ParentCommand
    private Dom0j root;

    @Spec
    private CommandSpec spec;

    @Command(name = "pause", description = "Pause a domain (xc_domain_pause).",
        footer = { "", "Example:", "  dom0j domain pause 3        stop domain 3's vCPUs; 'domain unpause 3' resumes" })
    int pause(@Parameters(paramLabel = "DOM", description = "the domain: name or domid") final String dom)
    {
        return apply(root, spec, dom, "paused", DomainActions::pause);
    }

    @Command(name = "unpause", description = "Unpause a domain (xc_domain_unpause).",
        footer = { "", "Example:", "  dom0j domain unpause 3" })
    int unpause(@Parameters(paramLabel = "DOM", description = "the domain: name or domid") final String dom)
    {
        return apply(root, spec, dom, "unpaused", DomainActions::unpause);
    }

    @Command(name = "destroy", description = "Destroy a domain at once, and its toolstack entries in xenstore.",
        footer = { "", "Example:", "  dom0j --platform sim domain destroy 5" })
    int destroy(@Parameters(paramLabel = "DOM", description = "the domain: name or domid") final String dom)
    {
        return apply(root, spec, dom, "destroyed", DomainActions::destroy);
    }

    /**
     * Resolves {@code dom}, applies {@code action} and says so ("domain 3 paused", or JSON).
     */
    static int apply(
        final Dom0j root,
        final CommandSpec spec,
        final String dom,
        final String done,
        final BiConsumer<DomainSession, DomainSession.Domain> action)
    {
        try (DomainSession session = DomainSession.open(root))
        {
            final DomainSession.Domain domain = session.resolve(dom);
            action.accept(session, domain);
            report(root, spec, domain, done);
            return ExitCodes.OK;
        }
    }

    static void report(final Dom0j root, final CommandSpec spec, final DomainSession.Domain domain, final String done)
    {
        final PrintWriter out = spec.commandLine().getOut();
        if (root.options().json())
        {
            final Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("domid", domain.domid());
            doc.put("name", domain.name());
            doc.put("result", done);
            out.println(Json.write(doc));
        }
        else
        {
            out.println("domain " + domain.domid() + (domain.name().isEmpty() ? "" : " (" + domain.name() + ")") +
                " " + done);
        }
        out.flush();
    }
}
