/**
 * The Linux system calls dom0j makes, bound once through JNA's direct mapping for every module: file descriptors
 * and vectored I/O, memory mappings, futexes, poll, epoll, eventfd, pseudo-terminals and TAP devices. Nothing
 * outside this package sees a JNA type.
 * <p>
 * Errors: a call that sets something up throws a {@link org.dom0j.linux.LinuxException} (errno and what was being
 * done); a call on the data path returns its result or minus the errno, as the kernel does, and allocates nothing.
 * <p>
 * Constants, struct layouts and ioctl numbers are x86_64 Linux's (checked against the headers by the module's
 * tests); the futex system call number is also known for aarch64.
 */
package org.dom0j.linux;
