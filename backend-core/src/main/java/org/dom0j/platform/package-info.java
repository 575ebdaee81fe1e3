/**
 * The platform SPI: {@link org.dom0j.platform.XenPlatform} gives backends xenstore, grant tables, event channels
 * and domain control without saying whether they run on real Xen or on the simulator;
 * {@link org.dom0j.platform.Platforms} chooses one at start-up.
 */
package org.dom0j.platform;
