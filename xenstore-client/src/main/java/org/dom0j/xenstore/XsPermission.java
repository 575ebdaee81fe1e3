package org.dom0j.xenstore;

/**
 * One entry of a node's permission list, as xenstored writes it: a letter ('n' none, 'r' read, 'w' write, 'b'
 * both) followed by a domain id. The first entry names the owner, and its letter is what every domain not listed
 * may do.
 *
 * @param access what the domain may do.
 * @param domid  the domain.
 */
public record XsPermission(Access access, int domid)
{
    /**
     * What a domain may do with a node.
     */
    public enum Access
    {
        /** 'n' */
        NONE('n'),
        /** 'r' */
        READ('r'),
        /** 'w' */
        WRITE('w'),
        /** 'b' */
        BOTH('b');

        private final char letter;

        Access(final char letter)
        {
            this.letter = letter;
        }

        /**
         * @return the wire letter.
         */
        public char letter()
        {
            return letter;
        }

        /**
         * @param letter a wire letter.
         * @return its access.
         * @throws IllegalArgumentException for any other letter.
         */
        public static Access ofLetter(final char letter)
        {
            for (final Access a : values())
            {
                if (a.letter == letter)
                {
                    return a;
                }
            }
            throw new IllegalArgumentException("not a xenstore permission letter: '" + letter + "'");
        }
    }

    /**
     * @param text e.g. "r5" or "b0".
     * @return the entry.
     * @throws IllegalArgumentException when it is not of that form.
     */
    public static XsPermission parse(final String text)
    {
        if (text.length() < 2)
        {
            throw new IllegalArgumentException("not a xenstore permission: \"" + text + "\"");
        }
        final int domid;
        try
        {
            domid = Integer.parseInt(text.substring(1));
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalArgumentException("not a xenstore permission: \"" + text + "\"", ex);
        }
        if (domid < 0 || domid > 0xFFFF)
        {
            throw new IllegalArgumentException("domain id out of range in xenstore permission: \"" + text + "\"");
        }
        return new XsPermission(Access.ofLetter(text.charAt(0)), domid);
    }

    @Override
    public String toString()
    {
        return access.letter() + Integer.toString(domid);
    }
}
