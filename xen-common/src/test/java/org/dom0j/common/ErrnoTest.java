package org.dom0j.common;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(10)
class ErrnoTest
{
    @Test
    void shouldKeepLinuxNumbers()
    {
        assertThat(Errno.ENOENT.number()).isEqualTo(2);
        assertThat(Errno.EAGAIN.number()).isEqualTo(11);
        assertThat(Errno.EACCES.number()).isEqualTo(13);
        assertThat(Errno.EINVAL.number()).isEqualTo(22);
        assertThat(Errno.E2BIG.number()).isEqualTo(7);
        assertThat(Errno.of(16)).isEqualTo(Errno.EBUSY);
    }

    @Test
    void shouldFindWireNamesAsXenstoredSendsThem()
    {
        assertThat(Errno.ofName("EQUOTA")).isEqualTo(Errno.EQUOTA);
        assertThat(Errno.ofName("ENOSUCH")).isNull();
    }

    @Test
    void exceptionShouldSayWhatWasDoneAndTheErrno()
    {
        final XenException ex = new XenException(2, "read /local/domain/3/name");

        assertThat(ex).hasMessage("read /local/domain/3/name: ENOENT (No such file or directory)");
        assertThat(ex.errnoConstant()).isEqualTo(Errno.ENOENT);
        assertThat(new XenException(9999, "x")).hasMessage("x: errno 9999");
        assertThat(new XenException(0, "plain")).hasMessage("plain");
    }

    @Test
    void libraryProbeShouldNameTheDebianPackageWhenALibraryIsMissing()
    {
        final String probe = XenLibrary.CTRL.probe();

        // Either the library loads here (libxen-dev installed) or the sentence names what to install.
        if (null != probe)
        {
            assertThat(probe).isEqualTo("libxenctrl.so.4.17 cannot be loaded (install Debian package libxenmisc4.17)");
        }
        assertThat(XenLibrary.GNTTAB.soname()).isEqualTo("libxengnttab.so.1");
    }
}
