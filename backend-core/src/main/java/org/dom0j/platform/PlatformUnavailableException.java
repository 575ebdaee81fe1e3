package org.dom0j.platform;

/**
 * The platform asked for cannot run here. The message is one sentence for an operator: which platform, and what
 * is missing.
 */
public class PlatformUnavailableException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    /**
     * @param message one sentence naming the platform and what is missing.
     */
    public PlatformUnavailableException(final String message)
    {
        super(message);
    }
}
