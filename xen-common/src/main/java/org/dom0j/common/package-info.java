/**
 * What the primitives share: errno values, the typed exception they raise, and the list of Xen's C libraries
 * with the Debian packages that ship them.
 */
package org.dom0j.common;
