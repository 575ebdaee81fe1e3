package org.dom0j.sim.xenstored;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How a {@link SimXenstored} is set up: the quotas C xenstored enforces on unprivileged domains (with C's defaults),
 * the output bounds, and where per-domain sockets go. Quotas count per domain, whatever number of connections it
 * opens (see {@link DomainAccounting}). Immutable; any thread.
 *
 * @param quotas                quota name to value: "nodes" (nodes a domain may own, 1000), "watches" (128),
 *                              "outstanding" (replies a domain may leave unread before the server stops reading
 *                              its requests, 20), "transactions" (open at once, 10), "transaction-nodes" (distinct
 *                              nodes one transaction may look at, 1024), "node-size" (bytes of a value, 2048),
 *                              "permissions" (entries per node, 5).
 * @param outputSoftLimit       bytes queued for one connection above which the server stops reading its requests
 *                              (any domain, dom0 included), until the client reads.
 * @param outputHardLimit       bytes queued for all connections of one unprivileged domain (watch events keep
 *                              coming even when requests are no longer read) above which further watch events for
 *                              it are dropped, as C xenstored drops them for a domain over its memory quota; the
 *                              connections stay open. Privileged connections have no such bound (nor in C).
 * @param serverFeatures        the feature bits GET_FEATURE reports for the server.
 * @param domainSocketDirectory where {@code domain-N.sock} files are made; null means the main socket's directory.
 */
public record SimXenstoredConfig(
    Map<String, Long> quotas,
    int outputSoftLimit,
    int outputHardLimit,
    long serverFeatures,
    Path domainSocketDirectory)
{
    /** Nodes a domain may own. */
    public static final String NODES = "nodes";
    /** Watches a domain may have. */
    public static final String WATCHES = "watches";
    /** Unread replies before the server stops reading a domain's requests. */
    public static final String OUTSTANDING = "outstanding";
    /** Transactions a domain may have open. */
    public static final String TRANSACTIONS = "transactions";
    /** Distinct nodes one transaction of an unprivileged domain may look at (read or write). */
    public static final String TRANSACTION_NODES = "transaction-nodes";
    /** Largest value, in bytes, an unprivileged domain may write. */
    public static final String NODE_SIZE = "node-size";
    /** Permission entries per node an unprivileged domain may set. */
    public static final String PERMISSIONS = "permissions";

    /**
     * Copies the quota map so the record stays immutable.
     */
    public SimXenstoredConfig
    {
        quotas = Map.copyOf(quotas);
        if (outputSoftLimit <= 0 || outputHardLimit < outputSoftLimit)
        {
            throw new IllegalArgumentException("need 0 < outputSoftLimit <= outputHardLimit");
        }
    }

    /**
     * @return C xenstored's quotas, 64 KiB soft and 1 MiB hard output bounds, no server features.
     */
    public static SimXenstoredConfig defaults()
    {
        final Map<String, Long> q = new LinkedHashMap<>();
        q.put(NODES, 1000L);
        q.put(WATCHES, 128L);
        q.put(OUTSTANDING, 20L);
        q.put(TRANSACTIONS, 10L);
        q.put(TRANSACTION_NODES, 1024L);
        q.put(NODE_SIZE, 2048L);
        q.put(PERMISSIONS, 5L);
        return new SimXenstoredConfig(q, 64 * 1024, 1024 * 1024, 0, null);
    }

    /**
     * @param name  one of the quota names.
     * @param value its new value.
     * @return a copy with that quota changed.
     */
    public SimXenstoredConfig withQuota(final String name, final long value)
    {
        if (!quotas.containsKey(name))
        {
            throw new IllegalArgumentException("no such quota: " + name + " (known: " + quotas.keySet() + ")");
        }
        final Map<String, Long> q = new LinkedHashMap<>(quotas);
        q.put(name, value);
        return new SimXenstoredConfig(q, outputSoftLimit, outputHardLimit, serverFeatures, domainSocketDirectory);
    }

    /**
     * @param soft bytes queued for a connection before its requests stop being read.
     * @param hard bytes queued for an unprivileged domain before its watch events are dropped.
     * @return a copy with those bounds.
     */
    public SimXenstoredConfig withOutputLimits(final int soft, final int hard)
    {
        return new SimXenstoredConfig(quotas, soft, hard, serverFeatures, domainSocketDirectory);
    }

    /**
     * @param directory where per-domain sockets go.
     * @return a copy using it.
     */
    public SimXenstoredConfig withDomainSocketDirectory(final Path directory)
    {
        return new SimXenstoredConfig(quotas, outputSoftLimit, outputHardLimit, serverFeatures, directory);
    }
}
