package org.dom0j.sim.xenstored;

import org.dom0j.common.Errno;

import java.nio.charset.StandardCharsets;

import static org.dom0j.sim.xenstored.SimXenstored.OK;

/**
 * TRANSACTION_START and TRANSACTION_END of {@link SimXenstored}: hands out transaction ids (one counter for the
 * server, wrapping to 1, never 0), opens each transaction as an {@link XsStore.Tx} of its connection, and at commit
 * checks the domain's node quota again, answers EAGAIN when a node the transaction looked at changed, and fires the
 * transaction's watch events, one per node it changed.
 * <p>
 * Confined to the server thread.
 */
final class XsTransactions
{
    private final XsStore store;
    private final DomainAccounting accounting;
    private final XsWatches watches;
    private int nextTxId = 1;

    XsTransactions(final XsStore store, final DomainAccounting accounting, final XsWatches watches)
    {
        this.store = store;
        this.accounting = accounting;
        this.watches = watches;
    }

    /**
     * @param conn    the connection.
     * @param current the transaction the request was sent in, or null.
     * @return the new transaction's id, as the reply.
     */
    byte[] doTransactionStart(final XsConnection conn, final XsStore.Tx current)
    {
        if (null != current)
        {
            throw new XsError(Errno.EBUSY);
        }
        accounting.startTransaction(conn.domid);
        final int id = nextTxId;
        nextTxId = nextTxId == Integer.MAX_VALUE ? 1 : nextTxId + 1;
        conn.transactions.put(id, store.begin(accounting.transactionNodeLimit(conn.domid)));
        return (id + "\0").getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * @param conn the connection.
     * @param txId the request's tx_id.
     * @param tx   that transaction, or null.
     * @param arg  "T" to commit, "F" to abort.
     * @return OK.
     */
    byte[] doTransactionEnd(final XsConnection conn, final int txId, final XsStore.Tx tx, final String arg)
    {
        if (null == tx)
        {
            throw new XsError(Errno.ENOENT);
        }
        final boolean commit;
        if (arg.equals("T"))
        {
            commit = true;
        }
        else if (arg.equals("F"))
        {
            commit = false;
        }
        else
        {
            throw new XsError(Errno.EINVAL);
        }
        conn.transactions.remove(txId);
        accounting.transactionsEnded(conn.domid, 1);
        if (!commit)
        {
            return OK;
        }
        if (tx.failed())
        {
            throw new XsError(Errno.ENOMEM);
        }
        accounting.checkCommit(conn.domid, tx, store::owned);
        if (!tx.commit())
        {
            throw new XsError(Errno.EAGAIN);
        }
        for (final XsStore.TxWatch w : tx.queuedWatches())
        {
            watches.fireCommitted(tx, w);
        }
        return OK;
    }
}
