package org.dom0j.platform;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Finds the platforms on the class path and chooses one: by name ("xen", "sim"), or "auto", which takes the
 * available platform of highest priority (real Xen when this is a dom0 with the Xen libraries, otherwise the
 * simulator). The choice is made once, at start-up.
 * <p>
 * Immutable; any thread.
 */
public final class Platforms
{
    /** The name that lets dom0j choose. */
    public static final String AUTO = "auto";

    private final List<XenPlatformProvider> providers;

    /**
     * @param providers the candidates.
     */
    public Platforms(final List<XenPlatformProvider> providers)
    {
        final List<XenPlatformProvider> sorted = new ArrayList<>(providers);
        sorted.sort(Comparator.comparingInt(XenPlatformProvider::priority).reversed()
            .thenComparing(XenPlatformProvider::name));
        this.providers = List.copyOf(sorted);
    }

    /**
     * @return the platforms found with {@link ServiceLoader} on this class path.
     */
    public static Platforms installed()
    {
        final List<XenPlatformProvider> found = new ArrayList<>();
        ServiceLoader.load(XenPlatformProvider.class).forEach(found::add);
        return new Platforms(found);
    }

    /**
     * One candidate and what probing found.
     *
     * @param provider     the platform.
     * @param availability what probing found.
     */
    public record Candidate(XenPlatformProvider provider, Availability availability)
    {
    }

    /**
     * The outcome of a selection.
     *
     * @param requested  what was asked for.
     * @param chosen     the platform chosen, or null when none can run.
     * @param candidates every platform, highest priority first, with what probing found.
     */
    public record Selection(String requested, Candidate chosen, List<Candidate> candidates)
    {
        /**
         * @return one sentence that says which platform was taken and why, or why none was.
         */
        public String explanation()
        {
            if (null == chosen)
            {
                if (AUTO.equals(requested))
                {
                    return "no platform can run here";
                }
                final Candidate named = candidates.stream()
                    .filter(c -> c.provider().name().equals(requested)).findFirst().orElse(null);
                return null == named ?
                    "there is no platform named '" + requested + "' (known: " + names() + ")" :
                    "platform '" + requested + "' is not available: " + named.availability().summary();
            }
            if (!AUTO.equals(requested))
            {
                return "platform '" + requested + "' was asked for";
            }
            final StringBuilder why = new StringBuilder("auto picks '").append(chosen.provider().name()).append('\'');
            for (final Candidate c : candidates)
            {
                if (c == chosen)
                {
                    break;
                }
                why.append(" because '").append(c.provider().name()).append("' is not available: ")
                    .append(c.availability().summary());
            }
            return why.toString();
        }

        private String names()
        {
            final List<String> names = new ArrayList<>();
            candidates.forEach(c -> names.add(c.provider().name()));
            return String.join(", ", names);
        }
    }

    /**
     * @return the providers, highest priority first.
     */
    public List<XenPlatformProvider> providers()
    {
        return providers;
    }

    /**
     * Probes every platform and chooses one.
     *
     * @param requested   "auto" or a platform name.
     * @param environment what to probe.
     * @return the selection; {@link Selection#chosen()} is null when the request cannot be met.
     */
    public Selection select(final String requested, final PlatformEnvironment environment)
    {
        final List<Candidate> candidates = new ArrayList<>();
        Candidate chosen = null;
        for (final XenPlatformProvider p : providers)
        {
            final Candidate c = new Candidate(p, p.probe(environment));
            candidates.add(c);
            final boolean wanted = AUTO.equals(requested) || p.name().equals(requested);
            if (null == chosen && wanted && c.availability().available())
            {
                chosen = c;
            }
        }
        return new Selection(requested, chosen, List.copyOf(candidates));
    }

    /**
     * Chooses and opens a platform.
     *
     * @param requested   "auto" or a platform name.
     * @param environment what to probe.
     * @return the open platform.
     * @throws PlatformUnavailableException with one sentence when the request cannot be met.
     */
    public XenPlatform open(final String requested, final PlatformEnvironment environment)
    {
        final Selection selection = select(requested, environment);
        if (null == selection.chosen())
        {
            throw new PlatformUnavailableException(selection.explanation());
        }
        return selection.chosen().provider().open(environment);
    }
}
