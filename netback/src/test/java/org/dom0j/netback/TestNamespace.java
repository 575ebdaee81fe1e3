package org.dom0j.netback;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A network namespace of a test's own, where a TAP that netback made is moved, addressed and pinged by Linux's own
 * tools. {@link #create} skips the calling test, saying why, on a machine without /dev/net/tun, ping, root or
 * network namespaces. Closing deletes the namespace (and the interfaces in it).
 */
final class TestNamespace implements AutoCloseable
{
    private final String name;

    private TestNamespace(final String name)
    {
        this.name = name;
    }

    /**
     * @param prefix two letters, so that concurrent tests (and this process's) get names of their own.
     * @return a new namespace named after the prefix and this process.
     */
    static TestNamespace create(final String prefix) throws IOException, InterruptedException
    {
        Assumptions.assumeTrue(Files.exists(Path.of("/dev/net/tun")), "/dev/net/tun is missing; drop-in mode untested");
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/ping")) || Files.isExecutable(Path.of("/bin/ping")),
            "ping is missing (install iputils-ping); drop-in mode untested");
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
            "drop-in mode needs root for TAP devices and network namespaces; untested");
        final String name = prefix + ProcessHandle.current().pid() % 100000;
        Assumptions.assumeTrue(run("ip", "netns", "add", name) == 0, "cannot create a network namespace here");
        return new TestNamespace(name);
    }

    /**
     * Moves an interface of dom0's into this namespace, gives it an address and brings it up.
     *
     * @param device  the interface.
     * @param address its address with a prefix length, e.g. "10.77.0.1/24".
     * @return whether every step succeeded.
     */
    boolean moveIn(final String device, final String address) throws IOException, InterruptedException
    {
        return run("ip", "link", "set", device, "netns", name) == 0 &&
            exec("ip", "addr", "add", address, "dev", device) == 0 &&
            exec("ip", "link", "set", device, "up") == 0;
    }

    /**
     * @param command a command to run inside the namespace.
     * @return its exit code (-1 after 30 s).
     */
    int exec(final String... command) throws IOException, InterruptedException
    {
        return run(inside(command));
    }

    /**
     * @param command a command to start inside the namespace.
     * @return the started process, its error output merged into its output.
     */
    Process start(final String... command) throws IOException
    {
        return new ProcessBuilder(inside(command)).redirectErrorStream(true).start();
    }

    @Override
    public void close() throws IOException, InterruptedException
    {
        run("ip", "netns", "delete", name);
    }

    private String[] inside(final String... command)
    {
        final List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", name));
        full.addAll(List.of(command));
        return full.toArray(new String[0]);
    }

    private static int run(final String... command) throws IOException, InterruptedException
    {
        final Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor(30, TimeUnit.SECONDS) ? p.exitValue() : -1;
    }
}
