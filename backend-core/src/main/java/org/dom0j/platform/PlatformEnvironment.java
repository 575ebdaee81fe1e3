package org.dom0j.platform;

import org.dom0j.common.XenLibrary;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;
import java.util.function.Function;

/**
 * What platform probing looks at: the filesystem root under which {@code /dev/xen} and {@code /proc/xen} are
 * found, the environment variables, and how to check that a Xen C library loads. Tests give a fake root and a
 * fake library check; production uses {@link #system()}.
 *
 * @param root         the filesystem root ("/" in production).
 * @param env          environment variables.
 * @param libraryProbe answers null when the library loads, else a sentence saying why not.
 */
public record PlatformEnvironment(Path root, Map<String, String> env, Function<XenLibrary, String> libraryProbe)
{
    /**
     * @return the real machine.
     */
    public static PlatformEnvironment system()
    {
        return new PlatformEnvironment(Paths.get("/"), System.getenv(), XenLibrary::probe);
    }

    /**
     * @param absolute an absolute path such as "/dev/xen/privcmd".
     * @return it, under {@link #root()}.
     */
    public Path resolve(final String absolute)
    {
        return root.resolve(absolute.startsWith("/") ? absolute.substring(1) : absolute);
    }

    /**
     * @param absolute an absolute path.
     * @return whether it exists under the root.
     */
    public boolean exists(final String absolute)
    {
        return Files.exists(resolve(absolute));
    }

    /**
     * @param name  variable name.
     * @param value its default.
     * @return its value, or the default when unset or empty.
     */
    public String getenv(final String name, final String value)
    {
        final String v = env.get(name);
        return null == v || v.isEmpty() ? value : v;
    }
}
