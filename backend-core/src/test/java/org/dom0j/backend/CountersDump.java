package org.dom0j.backend;

import java.nio.file.Path;

/**
 * Run in a separate JVM by {@link CountersFileTest}: maps a counters file read-only and prints
 * {@code label=value} for every allocated counter, as {@code dom0j top} will.
 */
public final class CountersDump
{
    private CountersDump()
    {
    }

    /**
     * @param args the counters file.
     */
    public static void main(final String[] args)
    {
        try (CountersFile file = CountersFile.openForReading(Path.of(args[0])))
        {
            file.reader().forEach((id, typeId, keyBuffer, label) ->
                System.out.println(label + "=" + file.reader().getCounterValue(id)));
        }
    }
}
