/**
 * The simulated hypervisor: a sim host directory ({@link org.dom0j.sim.SimHost}) that any number of processes open
 * at once, with per-domain guest memory, grant tables in the exact {@code grant_entry_v1} layout and event
 * channels with Xen's port semantics. Backends see it through {@link org.dom0j.sim.SimPlatform} (a
 * {@code XenPlatform}); simulated guests use {@link org.dom0j.sim.SimDomain}.
 * <p>
 * What it does not model is listed in {@link org.dom0j.sim.SimHost}.
 */
package org.dom0j.sim;
