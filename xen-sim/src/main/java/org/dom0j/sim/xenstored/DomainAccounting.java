package org.dom0j.sim.xenstored;

import org.dom0j.common.Errno;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntPredicate;
import java.util.function.IntUnaryOperator;

import static org.dom0j.sim.xenstored.XsArgs.domid;
import static org.dom0j.sim.xenstored.XsArgs.isNumber;
import static org.dom0j.sim.xenstored.XsArgs.number;

/**
 * What each domain uses of {@link SimXenstored}, and the quotas that bound it: C xenstored's per-domain accounting
 * (Xen 4.17 keeps {@code nbentry}, {@code nbwatch} and {@code nboutstanding} in its {@code struct domain}).
 * <p>
 * Everything is counted per domain, never per connection: on real Xen a guest has one ring, but here it may open
 * any number of connections to its socket, and they share one quota. Counted here: watches, open transactions,
 * outstanding (queued, unsent) replies and queued output bytes; nodes are counted by {@link XsStore}, per owner.
 * Domain 0 is counted too but never limited (C's {@code domain_is_unprivileged}).
 * <p>
 * Limits, each as Xen 4.17 has it unless said otherwise:
 * <ul>
 *   <li>nodes: a node is created only while the domain owns fewer than its quota (C's {@code create_node}); inside
 *       a transaction that count is the committed one, without the transaction's own nodes, which are checked at
 *       commit instead ({@link #checkCommit}).</li>
 *   <li>watches (E2BIG) and transactions (ENOSPC): a domain may have exactly its quota, as the quota's name says.
 *       Here C is off by one, differently by version: 4.17 refuses only when the count is already above the quota
 *       (one more allowed), Xen's later {@code domain_quota_add_exceeds} when count + 1 reaches it (one less).</li>
 *   <li>transaction-nodes: a transaction may look at that many distinct nodes; the next gives ENOSPC and marks the
 *       transaction failed, so that committing it gives ENOMEM (C's {@code access_node} and
 *       {@code trans->fail}).</li>
 *   <li>outstanding: when a domain has that many replies queued and unsent, none of its connections' requests are
 *       read until one is sent (C's {@code domain_can_read}). C also keeps a request outstanding while watch events
 *       it caused are queued for a watcher; that is not modelled.</li>
 *   <li>output: above {@link SimXenstoredConfig#outputHardLimit()} bytes queued for a domain's connections, watch
 *       events for it are dropped, as C drops them for a domain over its hard memory quota
 *       ({@code domain_memory_add_chk} in {@code send_event}); its connections stay open. Privileged connections
 *       have no such bound: C queues their events without limit.</li>
 * </ul>
 * <p>
 * Confined to the server thread.
 */
final class DomainAccounting
{
    private final Map<String, Long> quotas;
    private final Map<Integer, Map<String, Long>> domainQuotas = new HashMap<>();
    private final Map<Integer, Usage> usage = new HashMap<>();
    private final long outputHardLimit;

    DomainAccounting(final SimXenstoredConfig config)
    {
        this.quotas = new LinkedHashMap<>(config.quotas());
        this.outputHardLimit = config.outputHardLimit();
    }

    /**
     * @param domid a domain.
     * @return whether quotas apply to it (all but domain 0).
     */
    static boolean unprivileged(final int domid)
    {
        return domid != 0;
    }

    // ---------------------------------------------------------------- quota values (GET/SET_QUOTA)

    /**
     * GET_QUOTA (Xen 4.19's protocol): no argument or a domid alone gives the quota names, a name the global
     * value, a domid and a name that domain's value.
     *
     * @param args       the request's strings.
     * @param introduced whether a domid is introduced (else ENOENT).
     * @return the reply.
     */
    byte[] doGetQuota(final List<String> args, final IntPredicate introduced)
    {
        final String answer;
        if (args.isEmpty())
        {
            answer = String.join(" ", quotas.keySet());
        }
        else if (args.size() == 1 && !isNumber(args.get(0)))
        {
            answer = Long.toString(globalQuota(args.get(0)));
        }
        else
        {
            final int domid = introducedDomid(args.get(0), introduced);
            answer = args.size() == 1 ? String.join(" ", quotas.keySet()) :
                Long.toString(quota(domid, checkedName(args.get(1))));
        }
        return (answer + "\0").getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * SET_QUOTA (Xen 4.19's protocol): a name and a value set the global value, a domid, name and value that
     * domain's.
     *
     * @param args       the request's strings.
     * @param introduced whether a domid is introduced (else ENOENT).
     * @return the reply.
     */
    byte[] doSetQuota(final List<String> args, final IntPredicate introduced)
    {
        if (args.size() == 2)
        {
            quotas.put(checkedName(args.get(0)), number(args.get(1)));
        }
        else if (args.size() == 3)
        {
            final int domid = introducedDomid(args.get(0), introduced);
            domainQuotas.computeIfAbsent(domid, k -> new HashMap<>())
                .put(checkedName(args.get(1)), number(args.get(2)));
        }
        else
        {
            throw new XsError(Errno.EINVAL);
        }
        return "OK\0".getBytes(StandardCharsets.US_ASCII);
    }

    private static int introducedDomid(final String text, final IntPredicate introduced)
    {
        final int domid = domid(text);
        if (!introduced.test(domid))
        {
            throw new XsError(Errno.ENOENT);
        }
        return domid;
    }

    private String checkedName(final String name)
    {
        globalQuota(name);
        return name;
    }

    /**
     * @param name a quota.
     * @return its global value.
     * @throws XsError EINVAL when there is no such quota.
     */
    private long globalQuota(final String name)
    {
        final Long v = quotas.get(name);
        if (null == v)
        {
            throw new XsError(Errno.EINVAL);
        }
        return v;
    }

    /**
     * @param domid a domain.
     * @param name  a known quota.
     * @return the domain's own value if SET_QUOTA gave it one, else the global one.
     */
    long quota(final int domid, final String name)
    {
        final Map<String, Long> d = domainQuotas.get(domid);
        final Long v = null == d ? null : d.get(name);
        return null != v ? v : quotas.get(name);
    }

    /**
     * Forgets a released domain: its own quotas and what it used (its connections are gone).
     *
     * @param domid the domain.
     */
    void forget(final int domid)
    {
        domainQuotas.remove(domid);
        usage.remove(domid);
    }

    // ---------------------------------------------------------------- nodes

    void checkNodeSize(final int domid, final int bytes)
    {
        if (unprivileged(domid) && bytes > quota(domid, SimXenstoredConfig.NODE_SIZE))
        {
            throw new XsError(Errno.ENOSPC);
        }
    }

    void checkPermissions(final int domid, final int count)
    {
        if (unprivileged(domid) && count > quota(domid, SimXenstoredConfig.PERMISSIONS))
        {
            throw new XsError(Errno.ENOSPC);
        }
    }

    /**
     * Before each node a request creates (C's {@code create_node}).
     *
     * @param domid the requesting domain, which will own the node.
     * @param owned how many nodes it owns, committed (a transaction's own are checked at commit).
     */
    void checkNodeCreation(final int domid, final int owned)
    {
        if (unprivileged(domid) && owned >= quota(domid, SimXenstoredConfig.NODES))
        {
            throw new XsError(Errno.ENOSPC);
        }
    }

    /**
     * The node quota again when a transaction commits, so that transactions run in parallel by one domain cannot
     * together exceed it. This is Xen 4.17's {@code do_transaction_end} calling
     * {@code transaction_fix_domains(chk_quota)}: checked only when a transaction of an unprivileged domain created a
     * node; then for every unprivileged domain whose node count the transaction changed, committed count plus change
     * (a negative sum counts as 0: a parallel change that will give EAGAIN anyway) must stay <em>below</em> the
     * quota, else ENOSPC and nothing is applied. So a commit may bring a domain to one node less than a direct write
     * may (C's {@code >=}); the check comes before the one for conflicts (ENOSPC wins over EAGAIN), as in C.
     *
     * @param domid     the committing domain.
     * @param tx        the transaction.
     * @param committed nodes a domain owns now, committed.
     */
    void checkCommit(final int domid, final XsStore.Tx tx, final IntUnaryOperator committed)
    {
        if (!unprivileged(domid) || !tx.createdNode())
        {
            return;
        }
        for (final Map.Entry<Integer, Integer> e : tx.ownedDelta().entrySet())
        {
            final int owner = e.getKey();
            final long count = Math.max(0, committed.applyAsInt(owner) + e.getValue());
            if (unprivileged(owner) && count >= quota(owner, SimXenstoredConfig.NODES))
            {
                throw new XsError(Errno.ENOSPC);
            }
        }
    }

    /**
     * @param domid the domain starting a transaction.
     * @return how many distinct nodes the transaction may look at.
     */
    int transactionNodeLimit(final int domid)
    {
        return unprivileged(domid) ?
            (int)Math.min(Integer.MAX_VALUE, quota(domid, SimXenstoredConfig.TRANSACTION_NODES)) : Integer.MAX_VALUE;
    }

    // ---------------------------------------------------------------- watches and transactions

    /**
     * Counts a new watch, or refuses it.
     *
     * @param domid the domain setting it.
     * @throws XsError E2BIG when the domain has its quota of watches already.
     */
    void addWatch(final int domid)
    {
        final Usage u = usage(domid);
        if (unprivileged(domid) && u.watches >= quota(domid, SimXenstoredConfig.WATCHES))
        {
            throw new XsError(Errno.E2BIG);
        }
        u.watches++;
    }

    void watchesRemoved(final int domid, final int count)
    {
        usage(domid).watches -= count;
    }

    /**
     * Counts a new transaction, or refuses it.
     *
     * @param domid the domain starting it.
     * @throws XsError ENOSPC when the domain has its quota of transactions open already.
     */
    void startTransaction(final int domid)
    {
        final Usage u = usage(domid);
        if (unprivileged(domid) && u.transactions >= quota(domid, SimXenstoredConfig.TRANSACTIONS))
        {
            throw new XsError(Errno.ENOSPC);
        }
        u.transactions++;
    }

    void transactionsEnded(final int domid, final int count)
    {
        usage(domid).transactions -= count;
    }

    // ---------------------------------------------------------------- output

    /**
     * @param domid a domain.
     * @return whether its requests must wait: it has its quota of replies queued and unsent.
     */
    boolean outstandingFull(final int domid)
    {
        final Usage u = usage.get(domid);
        return unprivileged(domid) && null != u && u.outstanding >= quota(domid, SimXenstoredConfig.OUTSTANDING);
    }

    /**
     * @param domid the watcher's domain.
     * @param bytes the event's size on the wire.
     * @return whether the event may be queued (else it is dropped, as C drops it).
     */
    boolean mayQueueWatchEvent(final int domid, final int bytes)
    {
        return !unprivileged(domid) || usage(domid).outputBytes + bytes <= outputHardLimit;
    }

    void outputQueued(final int domid, final int bytes, final boolean reply)
    {
        final Usage u = usage(domid);
        u.outputBytes += bytes;
        if (reply)
        {
            u.outstanding++;
        }
    }

    /**
     * Output sent, or discarded with its connection.
     *
     * @param domid   the domain.
     * @param bytes   how many bytes.
     * @param replies how many of the messages were replies.
     * @return whether this let the domain's requests be read again (it was at its outstanding quota, and is not).
     */
    boolean outputGone(final int domid, final long bytes, final int replies)
    {
        final boolean wasFull = outstandingFull(domid);
        final Usage u = usage(domid);
        u.outputBytes -= bytes;
        u.outstanding -= replies;
        return wasFull && !outstandingFull(domid);
    }

    private Usage usage(final int domid)
    {
        return usage.computeIfAbsent(domid, k -> new Usage());
    }

    /** One domain's counters. */
    private static final class Usage
    {
        private int watches;
        private int transactions;
        private int outstanding;
        private long outputBytes;
    }
}
